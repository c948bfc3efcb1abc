"""The Grid tab: one seed at several guidance scales (columns), one row per seed, in one batch.

The scales box is checked as it is typed (numbers, each within the scale's range: NaN or
inf never reach the sampler), and Run grid is enabled only while it holds a valid list.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ....core.text2img.sampling import GuidedSettings, check_grid_scales
from ...widgets.images import ImageCanvas
from .guidance_tab import dimmed, prompt_title
from .results import GridResult

MAX_SEEDS = 8
INFO_STYLE = "color: #aaa;"
ERROR_INFO_STYLE = "color: #ff7b7b;"
ERROR_EDIT_STYLE = "QLineEdit { border: 2px solid #e05252; border-radius: 3px; padding: 2px; }"


def parse_scales(text: str, base: str = "text2img") -> list[float]:
    """The scales typed in the box, checked against the range of w (or of s for the DDPM base)."""
    parts = [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    try:
        scales = [float(part) for part in parts]
    except ValueError:
        raise ValueError(f"grid scales must be numbers separated by commas, not {text!r}") from None
    return check_grid_scales(GuidedSettings(base=base), scales)


class GridTab(QWidget):
    run_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.grid: GridResult | None = None
        self.base = "text2img"
        self.allowed = False  # the panel's part: a model and valid prompts
        self.scales_error = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.scales_edit = QLineEdit("0, 1, 2, 3, 5, 8")
        self.scales_edit.setToolTip("The guidance scales across (w; the classifier scale s when the DDPM is the "
                                    "denoiser), separated by commas")
        self.seeds_box = QSpinBox()
        self.seeds_box.setRange(1, MAX_SEEDS)
        self.seeds_box.setValue(3)
        self.seeds_box.setPrefix("seeds: ")
        self.seeds_box.setToolTip("Rows: the seed above and the next ones (1 row: one seed at every w)")
        self.run_button = QPushButton("Run grid")
        self.run_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 18px; }")
        self.info = QLabel("The same seed at several w (columns), one row per seed.")
        self.info.setStyleSheet(INFO_STYLE)
        self.info.setWordWrap(True)
        row.addWidget(QLabel("scales"))
        row.addWidget(self.scales_edit, 1)
        row.addWidget(self.seeds_box)
        row.addWidget(self.run_button)
        layout.addLayout(row)
        layout.addWidget(self.info)
        self.canvas = ImageCanvas(minimum=240)
        layout.addWidget(self.canvas, 1)
        self.run_button.clicked.connect(self.run_requested)
        self.scales_edit.textChanged.connect(lambda _: self._check())
        self._check()

    def scales(self) -> list[float]:
        return parse_scales(self.scales_edit.text(), self.base)

    def set_base(self, base: str) -> None:
        """The DDPM base puts the classifier scale s across, with its own range."""
        self.base = base
        self._check()

    def set_allowed(self, allowed: bool) -> None:
        self.allowed = allowed
        self.run_button.setEnabled(allowed and not self.scales_error)

    def set_request(self, scales: list[float], n_seeds: int) -> None:
        """Show a grid's scales and seed count (Load PNG)."""
        self.scales_edit.setText(", ".join(f"{w:g}" for w in scales))
        self.seeds_box.setValue(n_seeds)

    def _check(self) -> None:
        try:
            self.scales()
        except ValueError as exc:
            self.scales_error = str(exc)
            self.scales_edit.setStyleSheet(ERROR_EDIT_STYLE)
            self.info.setStyleSheet(ERROR_INFO_STYLE)
            self.info.setText(self.scales_error)
        else:
            if self.scales_error:
                self.info.setStyleSheet(INFO_STYLE)
                self.info.setText(self._describe())
            self.scales_error = ""
            self.scales_edit.setStyleSheet("")
        self.set_allowed(self.allowed)

    def clear(self) -> None:
        self.grid = None
        self.canvas.set_image(None)
        if not self.scales_error:
            self.info.setText(self._describe())

    def show_rendering(self, n_seeds: int, n_scales: int) -> None:
        self.info.setStyleSheet(INFO_STYLE)
        self.info.setText(f"Rendering {n_seeds} × {n_scales} images in one batch…")

    def show_grid(self, grid: GridResult) -> None:
        self.grid = grid
        self.canvas.set_image(grid.picture)
        if grid.final:
            self.info.setStyleSheet(INFO_STYLE)
            self.info.setText(self._describe())

    def set_stale(self, stale: bool) -> None:
        """Grey the grid out while the prompt boxes hold an invalid prompt."""
        if self.grid is None:
            return
        self.canvas.set_image(dimmed(self.grid.picture) if stale else self.grid.picture)
        if not self.scales_error:
            self.info.setText(("Greyed: the prompt above is not valid; this grid is of the last valid prompt, "
                               if stale else "") + self._describe())

    def _describe(self) -> str:
        grid = self.grid
        if grid is None or not grid.final:
            return "The same seed at several w (columns), one row per seed."
        s = grid.settings
        return (f"{prompt_title(s)}, {s.sampler.upper()}-{s.steps}: {grid.axis} across, "
                f"seeds {grid.seeds[0]}–{grid.seeds[-1]} down")
