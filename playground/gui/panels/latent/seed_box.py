"""The latent panel's seed: the steps view's `NumberField` over `checks.seed` (checked as typed,
marked red with a message naming the range, never clamped), drawn when Enter is pressed."""

from __future__ import annotations

from PySide6.QtCore import Signal

from ....core import checks
from ...widgets.steps.fields import NumberField


class SeedBox(NumberField):
    """`entered(seed)` on Enter (or leaving the box) with a valid seed; `invalid(message)` otherwise."""

    entered = Signal(int)
    invalid = Signal(str)

    def __init__(self, seed: int = 0):
        super().__init__("seed", checks.seed, seed, width=110,
                         tooltip=f"The seed of z ~ N(0, I): {checks.seed.describe()}. Type one and press Enter to draw it.")
        self._seed = seed
        self.editingFinished.connect(self._on_edited)

    def seed(self) -> int:
        """The seed last drawn or shown (kept while the box holds a typing error; `value()` raises it)."""
        return self._seed

    def set_value(self, seed: int) -> None:
        self._seed = checks.seed.check(seed, "seed")
        super().set_value(self._seed)

    def _on_edited(self) -> None:
        try:
            seed = int(self.value())
        except ValueError as exc:
            self.invalid.emit(str(exc))
            return
        self.set_value(seed)
        self.entered.emit(seed)
