"""Small reusable widgets: a pixel-crisp image canvas, thumbnails, a labelled slider row."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

BACKGROUND = "#16171a"


def numpy_to_qimage(rgb: np.ndarray) -> QImage:
    """(H, W, 3) uint8 to a QImage that owns its pixels."""
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def thumbnail_icon(rgb: np.ndarray, scale: int = 2) -> QIcon:
    image = numpy_to_qimage(np.repeat(np.repeat(rgb, scale, 0), scale, 1))
    return QIcon(QPixmap.fromImage(image))


class ImageCanvas(pg.GraphicsLayoutWidget):
    """One RGB image, nearest-neighbour scaled, fixed levels (pyqtgraph's fast path)."""

    def __init__(self, title: str = "", minimum: int = 160, parent: QWidget | None = None):
        super().__init__(parent)
        self.setBackground(BACKGROUND)
        self.ci.setContentsMargins(2, 2, 2, 2)
        if title:
            self.addLabel(title, color="#c8c8c8", size="10pt")
            self.nextRow()
        self.view = self.addViewBox(lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.image_item = pg.ImageItem()
        self.view.addItem(self.image_item)
        self.setMinimumSize(minimum, minimum + (24 if title else 0))
        self.image: np.ndarray | None = None

    def set_image(self, rgb: np.ndarray | None) -> None:
        self.image = rgb
        if rgb is None:
            self.image_item.clear()
            return
        first = self.image_item.image is None or self.image_item.image.shape != rgb.shape
        self.image_item.setImage(rgb, levels=(0, 255), autoLevels=False)
        if first:
            self.view.autoRange(padding=0.0)


class LatentSliderRow(QWidget):
    """One latent dimension: name, slider over -range..range, its value and its usage."""

    value_changed = Signal(int, float)  # dimension, value
    STEPS_PER_UNIT = 100

    def __init__(self, dim: int, usage: float, usage_kind: str, value_range: float = 3.0, active: bool = True):
        super().__init__()
        self.dim = dim
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        self.name = QLabel(f"z{dim}")
        self.name.setFixedWidth(34)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(-value_range * self.STEPS_PER_UNIT), int(value_range * self.STEPS_PER_UNIT))
        self.slider.setSingleStep(5)
        self.slider.setPageStep(50)
        self.value = QLabel("0.00")
        self.value.setFixedWidth(40)
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.usage = QLabel(f"{usage_kind} {usage:.2f}")
        self.usage.setFixedWidth(72)
        self.usage.setToolTip(
            "KL divergence of this dimension's posterior from the prior, averaged over held-out data: "
            "how much information the VAE stores here (near 0 = unused)"
            if usage_kind == "KL" else "variance of this code dimension over held-out data"
        )
        for w in (self.name, self.slider, self.value, self.usage):
            layout.addWidget(w)
        if not active:
            for w in (self.name, self.usage):
                w.setStyleSheet("color: #666;")
        self.slider.valueChanged.connect(self._on_slider)

    def _on_slider(self, raw: int) -> None:
        value = raw / self.STEPS_PER_UNIT
        self.value.setText(f"{value:+.2f}")
        self.value_changed.emit(self.dim, value)

    def set_value(self, value: float) -> None:
        """Move the slider without emitting (the caller renders once for all rows)."""
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(value * self.STEPS_PER_UNIT)))
        self.slider.blockSignals(False)
        self.value.setText(f"{value:+.2f}")


def titled(widget: QWidget, title: str) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    label = QLabel(title)
    label.setStyleSheet("color: #aaa; font-weight: bold;")
    layout.addWidget(label)
    layout.addWidget(widget)
    return box
