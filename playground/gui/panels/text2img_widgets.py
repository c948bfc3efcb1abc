"""Widgets of the text-to-image panel: a prompt box that completes and checks as one types, a
fine-stepped scale slider, and the four-image view of what guidance did at one step."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QCompleter, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel, QLineEdit, QSlider, QVBoxLayout, QWidget,
)

from ...core.data.shapes import PromptError, parse_prompt
from ...core.text2img.sampling import Decomposition
from ...core.data.tokenizer import next_words
from ..widgets.titled import TitledCanvas

ERROR_STYLE = "QLineEdit { border: 2px solid #e05252; border-radius: 3px; padding: 2px; }"
OK_STYLE = "QLineEdit { border: 1px solid #3b4a5a; border-radius: 3px; padding: 3px; }"
PROMPT_FONT = "font-size: 15pt;"


class PromptEdit(QWidget):
    """A prompt line with word-by-word completion from the vocabulary and inline validation.

    `validity_changed(ok)` fires when the text turns valid or invalid; the message under the
    box names the unknown word and lists the vocabulary (the parser's own error), or shows
    the canonical reading of a valid prompt.
    """

    validity_changed = Signal(bool)
    submitted = Signal()  # Return pressed in the box

    def __init__(self, label: str, placeholder: str, empty_means: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.empty_means = empty_means
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        row = QHBoxLayout()
        name = QLabel(label)
        name.setMinimumWidth(70)
        name.setStyleSheet("font-size: 12pt; font-weight: bold;")
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setClearButtonEnabled(True)
        self.edit.setStyleSheet(OK_STYLE + "QLineEdit {" + PROMPT_FONT + "}")
        row.addWidget(name)
        row.addWidget(self.edit, 1)
        layout.addLayout(row)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setContentsMargins(74, 0, 0, 0)
        layout.addWidget(self.message)
        self.completions = QStringListModel(self)
        self.completer = QCompleter(self.completions, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setMaxVisibleItems(12)
        self.edit.setCompleter(self.completer)
        self.valid = True
        self.error = ""
        self.edit.textChanged.connect(self._validate)
        self.edit.textEdited.connect(self._update_completions)
        self.edit.returnPressed.connect(self.submitted)
        self._validate(self.edit.text())

    def text(self) -> str:
        return self.edit.text()

    def set_text(self, text: str) -> None:
        self.edit.setText(text)

    def completion_candidates(self, text: str) -> list[str]:
        """Whole-line completions: the text up to the word being typed, plus each word that may come next."""
        head = text if not text or text[-1].isspace() else text[: len(text) - len(text.split()[-1])]
        return [head + word for word in next_words(text)]

    def _update_completions(self, text: str) -> None:
        self.completions.setStringList(self.completion_candidates(text))
        self.completer.setCompletionPrefix(text)
        if text and self.edit.hasFocus():
            self.completer.complete()

    def _validate(self, text: str) -> None:
        try:
            canonical = parse_prompt(text).text()
        except PromptError as exc:
            ok, self.error = False, str(exc)
            self.message.setText(f"<span style='color:#ff7b7b'>{exc}</span>")
            self.edit.setStyleSheet(ERROR_STYLE + "QLineEdit {" + PROMPT_FONT + "}")
        else:
            ok, self.error = True, ""
            reading = f"reads as: <b>{canonical}</b>" if canonical else self.empty_means
            self.message.setText(f"<span style='color:#8a8f98'>{reading}</span>" if reading else "")
            self.edit.setStyleSheet(OK_STYLE + "QLineEdit {" + PROMPT_FONT + "}")
        self.message.setVisible(bool(self.message.text()))  # no empty line under an empty optional box
        if ok != self.valid:
            self.valid = ok
            self.validity_changed.emit(ok)


class ScaleSlider(QWidget):
    """A horizontal slider over [0, maximum] in fine steps, with a spin box showing the exact value."""

    value_changed = Signal(float)

    def __init__(self, label: str, maximum: float, step: float, value: float, tooltip: str = "",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.step = step
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        name = QLabel(label)
        name.setStyleSheet("font-size: 13pt; font-weight: bold;")
        name.setMinimumWidth(110)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, int(round(maximum / step)))
        self.slider.setSingleStep(1)
        self.slider.setPageStep(int(round(0.5 / step)))
        self.slider.setMinimumWidth(220)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.0, maximum)
        self.spin.setSingleStep(step * 10)
        self.spin.setDecimals(2)
        self.spin.setStyleSheet("font-size: 14pt;")
        self.spin.setMinimumWidth(90)
        for w in (name, self.slider, self.spin):
            w.setToolTip(tooltip)
        layout.addWidget(name)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self._on_spin)
        self.set_value(value)

    def value(self) -> float:
        return round(self.slider.value() * self.step, 6)

    def set_value(self, value: float, emit: bool = False) -> None:
        for w in (self.slider, self.spin):
            w.blockSignals(True)
        self.slider.setValue(int(round(value / self.step)))
        self.spin.setValue(self.value())
        for w in (self.slider, self.spin):
            w.blockSignals(False)
        if emit:
            self.value_changed.emit(self.value())

    def _on_slider(self, raw: int) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(raw * self.step)
        self.spin.blockSignals(False)
        self.value_changed.emit(self.value())

    def _on_spin(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(value / self.step)))
        self.slider.blockSignals(False)
        self.value_changed.emit(self.value())


DECOMPOSITION_TITLES = {
    "uncond": ("unconditional", "x̂₀ from ε(x_t, ∅)"),
    "cond": ("conditional", "x̂₀ from ε(x_t, c)"),
    "difference": ("difference c − u", "where guidance pushes"),
    "guided": ("guided", "u + w (c − u)"),
}


class DecompositionView(QWidget):
    """Unconditional, conditional, their difference and the guided prediction at one step."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.canvases = {key: TitledCanvas(*titles, minimum=90) for key, titles in DECOMPOSITION_TITLES.items()}
        for i, canvas in enumerate(self.canvases.values()):
            layout.addWidget(canvas, i // 2, i % 2)

    def set_parts(self, parts: Decomposition | None, base: str = "text2img") -> None:
        if parts is None:
            for canvas in self.canvases.values():
                canvas.set_image(None)
            return
        ddpm = base == "ddpm"
        self.canvases["cond"].setVisible(not ddpm)
        self.canvases["uncond"].caption.setText("x̂₀ of the DDPM alone" if ddpm else "x̂₀ from ε(x_t, ∅ or negative)")
        self.canvases["difference"].title.setText("classifier push" if ddpm else "difference c − u")
        self.canvases["difference"].caption.setText(f"×{parts.difference_gain:.1f}, grey = no change")
        self.canvases["guided"].caption.setText(
            "ε − s √(1−ᾱ) ∇ log p(y|x_t)" if ddpm else f"u + w (c − u),  w = {parts.guidance_scale:g} here")
        for key, canvas in self.canvases.items():
            image = getattr(parts, key)
            canvas.set_image(image if isinstance(image, np.ndarray) else None)
