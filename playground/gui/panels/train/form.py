"""The Train panel's recipe form: family, data, size and numbers, checked as they are typed.

The form turns into the argument list of `playground train FAMILY ...` (`arguments`), so a
run started here is the command line's run. Every number is checked against its real range
with a message naming the field (`problems`); Start stays disabled while one is wrong.
Runs go to the user's data folder (platformdirs), never into the folder the app runs in.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from pathlib import Path

import platformdirs
import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget,
)

from ....core.training.presets import PRESETS, TrainPreset, find_preset
from ....core.training.registry import RECIPES
from ...dialogs import open_folder

FOLDER_ITEM = "Folder…"
DEFAULT_STEPS = 2000
DEFAULT_PREVIEW_EVERY = 100
LOG_EVERY = 10  # the child reports losses every this many steps
MAX_STEPS = 10_000_000
MAX_BATCH = 4096


def runs_dir() -> Path:
    """Where runs go unless the form names a folder: the platform's per-user data folder
    (e.g. ~/.local/share/playground/runs on Linux), not the folder the app was started in."""
    return Path(platformdirs.user_data_dir("playground", appauthor=False)) / "runs"


class RecipeForm(QWidget):
    """What to train; `problems()` lists what is wrong, `arguments(device)` the `train` arguments."""

    changed = Signal()  # any field changed: the panel re-checks the form

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        self.preset: TrainPreset | None = None  # its options fill what the fields below do not say
        presets = QHBoxLayout()
        presets.addWidget(QLabel("Presets"))
        self.preset_buttons: dict[str, QPushButton] = {}
        for preset in PRESETS.values():
            button = QPushButton(preset.title)
            button.setToolTip(f"{preset.family}: {preset.note}")
            button.clicked.connect(lambda _=False, name=preset.name: self.use_preset(name))
            presets.addWidget(button, 1)
            self.preset_buttons[preset.name] = button
        root.addLayout(presets)
        self.preset_label = QLabel("")
        self.preset_label.setWordWrap(True)
        self.preset_label.setStyleSheet("color: #9ad;")
        self.preset_label.hide()
        root.addWidget(self.preset_label)
        form = QFormLayout()
        self.family_box = QComboBox()
        self.family_box.addItems(list(RECIPES))
        self.data_box = QComboBox()
        self.data_box.addItems(["shapes", "digits", FOLDER_ITEM])
        self.data_size = _spin(0, 1_000_000, 1000, 0)
        self.data_size.setSpecialValueText("default")
        self.data_size.setToolTip("shapes: how many images to render (default 20,000); digits, folder: use the first N")
        self.size_box = QComboBox()
        self.steps_box = _spin(1, MAX_STEPS, 500, DEFAULT_STEPS)
        self.batch_box = _spin(1, MAX_BATCH, 16, 128)
        self.processes_box = _spin(1, max(1, os.cpu_count() or 1), 1, 1)
        self.processes_box.setToolTip("Data-parallel training processes on this machine (torchrun): each trains on "
                                      "Batch size images, so one step sees Batch size x Processes. On one CPU they "
                                      "share its cores, so more rarely pays; it is how training spreads over GPUs.")
        self.lr_edit = QLineEdit()
        self.lr_edit.setToolTip("Adam's learning rate: a finite number above 0, e.g. 2e-4 (empty: the family's default)")
        self.preview_every = _spin(LOG_EVERY, 100_000, LOG_EVERY, DEFAULT_PREVIEW_EVERY)
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("automatic: FAMILY-DATA-TIME")
        self.out_button = QPushButton("…")
        self.out_button.setFixedWidth(28)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(self.out_button)
        for label, widget in (("Model family", self.family_box), ("Data set", self.data_box),
                              ("Images", self.data_size), ("Model size", self.size_box), ("Steps", self.steps_box),
                              ("Batch size", self.batch_box), ("Processes", self.processes_box),
                              ("Learning rate", self.lr_edit),
                              ("Preview every", self.preview_every)):
            form.addRow(label, widget)
        form.addRow("Output folder", out_row)
        root.addLayout(form)
        self.where_label = QLabel(f"Runs are saved in {runs_dir()} unless an output folder is given.")
        self.where_label.setWordWrap(True)
        self.where_label.setStyleSheet("color: #9aa;")
        self.where_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        root.addWidget(self.where_label)

        self.family_box.currentTextChanged.connect(self._on_family_changed)
        self.data_box.activated.connect(self._on_data_activated)
        self.out_button.clicked.connect(self._choose_out_dir)
        for spin in (self.data_size, self.steps_box, self.batch_box, self.preview_every):
            spin.lineEdit().textChanged.connect(self.changed)
        self.lr_edit.textChanged.connect(self.changed)
        self.data_box.currentTextChanged.connect(self.changed)
        self._on_family_changed(self.family_box.currentText())

    @property
    def family(self) -> str:
        return self.family_box.currentText()

    def use_preset(self, name: str) -> TrainPreset:
        """Fill the form from a named preset (core/training/presets.py); its other options (e.g. the
        VAE's latent size) go with the run as `--preset NAME`, overridden by what the fields say."""
        preset = find_preset(name)
        self.family_box.setCurrentText(preset.family)  # resets size, batch and lr to the family's
        options = preset.options
        self.data_box.setCurrentIndex(max(0, self.data_box.findText(options.get("--data", "shapes"))))
        self.data_size.setValue(int(options.get("--data-size", 0)))
        self.steps_box.setValue(preset.steps)
        self.batch_box.setValue(int(options.get("--batch-size", self.batch_box.value())))
        self.lr_edit.setText(options.get("--lr", ""))
        self.preview_every.setValue(preset.preview_every)
        self.preset = preset
        self.preset_label.setText(f"{preset.title}: a {preset.family}, {preset.steps} steps in about "
                                  f"{preset.budget_seconds / 60:g} min, a preview every {preset.preview_every}")
        self.preset_label.setToolTip(preset.note)
        self.preset_label.show()
        self.changed.emit()
        return preset

    def _on_family_changed(self, family: str) -> None:
        recipe = RECIPES.get(family)
        if recipe is None:
            return
        if getattr(self, "preset", None) is not None and self.preset.family != family:
            self.preset = None
            self.preset_label.hide()
        self.size_box.clear()
        sizes = list(recipe.sizes) or ["default"]
        self.size_box.addItems(sizes)
        if "medium" in sizes:
            self.size_box.setCurrentText("medium")
        self.batch_box.setValue(int(recipe.defaults.get("batch_size", 128)))
        self.lr_edit.setPlaceholderText(f"{recipe.defaults.get('lr', 2e-3):g} (the family's default)")
        self.changed.emit()

    def _on_data_activated(self, index: int) -> None:
        if self.data_box.itemText(index) != FOLDER_ITEM:
            return
        folder = open_folder(self, "data", "Folder of training images")
        if folder:
            self.data_box.insertItem(index, folder)
            self.data_box.setCurrentIndex(index)
        else:
            self.data_box.setCurrentIndex(0)

    def _choose_out_dir(self) -> None:
        folder = open_folder(self, "runs", "Output folder for the run", runs_dir())
        if folder:
            self.out_edit.setText(folder)

    # --- checks and the command line -----------------------------------------------------------

    def problems(self) -> list[str]:
        """What stops a run, one message per field (empty: the form is fine)."""
        found = []
        if self.data_box.currentText() == FOLDER_ITEM:
            found.append("Data set: choose a folder of images first")
        for name, spin in (("Images", self.data_size), ("Steps", self.steps_box), ("Batch size", self.batch_box),
                           ("Preview every", self.preview_every)):
            if not spin.hasAcceptableInput():
                low = "0 (default)" if spin is self.data_size else f"{spin.minimum():,}"
                found.append(f"{name} must be a whole number from {low} to {spin.maximum():,}, "
                             f"got {spin.cleanText() or 'nothing'!r}")
        try:
            self.learning_rate()
        except ValueError as exc:
            found.append(str(exc))
        return found

    def learning_rate(self) -> float | None:
        """The typed learning rate (None: the family's default); ValueError naming the field."""
        text = self.lr_edit.text().strip()
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"Learning rate must be a finite number above 0 (e.g. 2e-4), got {text!r}")
        return value

    def output_folder(self) -> Path:
        text = self.out_edit.text().strip()
        if text:
            return Path(text).expanduser()
        data = Path(self.data_box.currentText()).name or "data"
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return runs_dir() / f"{self.family}-{data}-{stamp}"

    def arguments(self, device: torch.device) -> list[str]:
        """The `playground train` arguments (everything after `train`); ValueError if the form is wrong."""
        found = self.problems()
        if found:
            raise ValueError("; ".join(found))
        argv = [self.family] + (["--preset", self.preset.name] if self.preset is not None else [])
        argv += ["--data", self.data_box.currentText(), "--steps", str(self.steps_box.value()),
                "--batch-size", str(self.batch_box.value()), "--out", str(self.output_folder()),
                "--device", str(device)]
        if self.data_size.value():
            argv += ["--data-size", str(self.data_size.value())]
        lr = self.learning_rate()
        if lr is not None:
            argv += ["--lr", repr(lr)]
        argv += list(RECIPES[self.family].sizes.get(self.size_box.currentText(), ()))
        return argv

    def set_editable(self, editable: bool) -> None:
        for widget in (*self.preset_buttons.values(), self.family_box, self.data_box, self.data_size, self.size_box, self.steps_box, self.batch_box,
                       self.processes_box, self.lr_edit, self.preview_every, self.out_edit, self.out_button):
            widget.setEnabled(editable)


def _spin(low: int, high: int, step: int, value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setGroupSeparatorShown(False)
    return spin
