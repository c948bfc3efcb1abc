"""The sampling row above the Tokens tabs: temperature, top-k, top-p, guidance w and the seed.

Temperature, top-k, top-p and w only re-shape a distribution the model already gave (the
writer keeps the conditional and the unconditional rows), so `shape_changed` redraws the
shown distribution at once, without a model call, and the next token is drawn with them.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from ....core import checks
from ....core.tokens.sampling import TokenSettings
from ...widgets.sliders import ScaleSlider
from ...widgets.steps.fields import NumberField

LABEL_STYLE = "font-size: 13pt; font-weight: bold;"


def _label(text: str, tooltip: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet(LABEL_STYLE)
    label.setToolTip(tooltip)
    return label


class SamplingControls(QWidget):
    shape_changed = Signal()  # temperature, top-k, top-p or w moved
    seed_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.applying = False
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.temperature = ScaleSlider(
            "temperature", 3.0, 0.01, 1.0,
            "Divide the log-probabilities by T before sampling: < 1 sharpens the distribution, > 1 flattens it")
        self.temperature.slider.setMinimum(5)
        self.temperature.spin.setMinimum(0.05)
        k_tip = "Keep only the k likeliest codes (0 = off)"
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 4096)
        self.top_k.setSpecialValueText("off")
        self.top_k.setStyleSheet("font-size: 14pt;")
        self.top_k.setToolTip(k_tip)
        p_tip = "Nucleus sampling: keep the smallest set of likeliest codes whose probability adds up to p (1 = off)"
        self.top_p = QDoubleSpinBox()
        self.top_p.setRange(0.01, 1.0)
        self.top_p.setSingleStep(0.05)
        self.top_p.setValue(1.0)
        self.top_p.setStyleSheet("font-size: 14pt;")
        self.top_p.setToolTip(p_tip)
        self.guidance = ScaleSlider(
            "guidance w", 8.0, 0.05, 1.0,
            "Classifier-free guidance on the log-probabilities: 0 the unconditional prior, 1 the plain "
            "conditional model, more pushes harder toward the prompt")
        self.seed = NumberField("seed", checks.seed, 0, width=90, tooltip="Each cell draws its own uniform from this seed")
        row.addWidget(self.temperature, 3)
        row.addSpacing(8)
        row.addWidget(_label("top-k", k_tip))
        row.addWidget(self.top_k)
        row.addSpacing(8)
        row.addWidget(_label("top-p", p_tip))
        row.addWidget(self.top_p)
        row.addSpacing(8)
        row.addWidget(self.guidance, 3)
        row.addSpacing(8)
        row.addWidget(_label("seed", self.seed.base_tooltip))
        row.addWidget(self.seed)
        self.temperature.value_changed.connect(lambda _: self._changed())
        self.guidance.value_changed.connect(lambda _: self._changed())
        self.top_k.valueChanged.connect(lambda _: self._changed())
        self.top_p.valueChanged.connect(lambda _: self._changed())
        self.seed.edited.connect(self.seed_changed)

    def set_codebook_size(self, k: int) -> None:
        self.top_k.setMaximum(k)

    def settings(self) -> TokenSettings:
        """The settings shown (ValueError with a one-line message for a bad one)."""
        return TokenSettings(temperature=self.temperature.value(), top_k=int(self.top_k.value()),
                             top_p=round(self.top_p.value(), 4), guidance=self.guidance.value()).checked()

    def seed_value(self) -> int:
        return int(self.seed.value())

    def apply(self, settings: TokenSettings, seed: int | None = None) -> None:
        """Show `settings` (and a seed) with one `shape_changed` at the end, not one per widget."""
        self.applying = True
        try:
            self.temperature.set_value(settings.temperature)
            self.top_k.setValue(settings.top_k)
            self.top_p.setValue(settings.top_p)
            self.guidance.set_value(settings.guidance)
            if seed is not None:
                self.seed.set_value(seed)
        finally:
            self.applying = False
        self.shape_changed.emit()

    def _changed(self) -> None:
        if not self.applying:
            self.shape_changed.emit()
