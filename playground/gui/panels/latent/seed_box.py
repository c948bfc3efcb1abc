"""A seed the user can read, copy and type; a typed value out of range gets a message, not a clamp."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLineEdit

from ....core import checks
from .recipe import check_seed

INVALID_STYLE = "border: 1px solid #d05050;"


class SeedBox(QLineEdit):
    """`entered(seed)` on Enter (or leaving the box) with a valid seed; `invalid(message)` otherwise."""

    entered = Signal(int)
    invalid = Signal(str)

    def __init__(self, seed: int = 0):
        super().__init__(str(seed))
        self._seed = seed
        self.setToolTip(f"The seed of z ~ N(0, I): {checks.seed.describe()}. Type one and press Enter to draw it.")
        self.setMaximumWidth(130)
        self.editingFinished.connect(self._on_edited)

    def value(self) -> int:
        """The seed shown (the last valid one while the box holds a typing error)."""
        return self._seed

    def setValue(self, seed: int) -> None:  # noqa: N802 (Qt's spelling, as QSpinBox)
        self._seed = check_seed(seed)
        self.setText(str(self._seed))
        self.setStyleSheet("")

    def _on_edited(self) -> None:
        try:
            seed = check_seed(self.text())
        except ValueError as exc:
            self.setStyleSheet(INVALID_STYLE)
            self.invalid.emit(str(exc))
            return
        self.setValue(seed)
        self.entered.emit(seed)
