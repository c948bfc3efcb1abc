"""The main window's status bar: messages, the progress of the job on screen with Cancel, the
backend box (torch or ONNX Runtime for the denoisers' runs) and the device."""

from __future__ import annotations

import torch
from PySide6.QtWidgets import QLabel, QMainWindow, QProgressBar, QPushButton

from ..core.device import describe_device
from .widgets.backend_setting import BackendSetting

PROGRESS_WIDTH = 300  # the bar carries the job's name (elided to fit) and "done / total"


def build_status_bar(window: QMainWindow, device: torch.device) -> None:
    """Give `window` its status bar and these parts: progress, cancel_button, backend_setting, device_label."""
    status = window.statusBar()
    window.progress = QProgressBar()
    window.progress.setMaximumWidth(PROGRESS_WIDTH)
    window.progress.setVisible(False)
    window.cancel_button = QPushButton("Cancel")
    window.cancel_button.setVisible(False)
    window.backend_setting = BackendSetting()
    window.device_label = QLabel(f"device: {describe_device(device)}")
    window.device_label.setObjectName("device")
    for part in (window.progress, window.cancel_button, window.backend_setting, window.device_label):
        status.addPermanentWidget(part)
