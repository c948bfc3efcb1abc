"""The scores table: one row per model (its name and family, its strip of samples, the measured
columns), sortable by any column; a row says where its numbers stand (cached, computing, stopped)."""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from ....core.assets import DEFAULT_CHECKPOINTS
from ....core.compare.families import ADAPTERS
from .sample_strip import THUMB, strip_pixmap, strip_width

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
KEY_ROLE = Qt.ItemDataRole.UserRole + 2
COMBINATIONS = 432
MUTED = QColor("#8a8f98")
ABBREVIATIONS = {"shape": "sh", "color": "co", "size": "sz", "position": "po"}


@dataclass
class ModelRow:
    """A model on the page: where its weights are, and its scores once measured."""

    path: Path
    name: str
    family: str
    scores: Any = None  # core.compare.report.FamilyScores
    state: str = "waiting"  # waiting | cached | computing d/t | measured | stopped | error: …
    added: bool = False  # opened by the user ("Add checkpoint…"), not shipped

    @property
    def key(self) -> str:
        return str(self.path)

    @property
    def order(self) -> tuple[int, bool, bool, str]:
        """Family order (as the comparison lists them), each family's shipped default first, added last."""
        families = list(ADAPTERS)
        index = families.index(self.family) if self.family in families else len(families)
        return index, self.added, self.name != DEFAULT_CHECKPOINTS.get(self.family), self.name


@dataclass(frozen=True)
class Column:
    title: str
    tip: str
    cell: Callable[[Any], tuple[str, float | None, str]]  # scores -> (text, sort key, tooltip)


def _percent(value: float | None) -> tuple[str, float | None, str]:
    return ("–", None, "") if not _finite(value) else (f"{100 * value:.0f}%", float(value), f"{100 * value:.1f}%")


def _number(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:.0f}"


def _count(value: int) -> str:
    return f"{value / 1e6:.1f}M" if value >= 1e6 else f"{value / 1e3:.0f}k" if value >= 1e3 else str(value)


def _entropy(s) -> tuple[str, float | None, str]:
    entropy = dict(s.entropy or {})
    if not entropy:
        return "–", None, ""
    parts = [f"{ABBREVIATIONS.get(k, k[:2])} {v:.1f}" for k, v in entropy.items()]
    text = "  ".join(parts[:2]) + ("\n" + "  ".join(parts[2:]) if len(parts) > 2 else "")
    tip = "\n".join(f"{k}: {v:.2f} bits" for k, v in entropy.items())
    return text, float(sum(entropy.values())), tip + f"\ntotal: {sum(entropy.values()):.2f} bits"


def _bits(s) -> tuple[str, float | None, str]:
    note = s.likelihood_note or ""
    tip = textwrap.fill(note, 80)
    if not _finite(s.bits_per_dim):
        reason = re.split(r" \(|; ", note.removeprefix("none: "))[0] or "none"
        return reason, None, tip or "no likelihood"
    return f"{s.bits_per_dim:.3f}\n{_short(re.split(r'[(,=:]', note)[0].strip())}", float(s.bits_per_dim), tip


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _memorisation(s) -> tuple[str, float | None, str]:
    if not (_finite(s.memorisation) and _finite(s.train_distance)):
        return "–", None, "not measured: the model was not trained on the shapes data set's training split"
    ratio = s.memorisation / s.train_distance if s.train_distance else None
    tip = textwrap.fill(f"median distance from a sample to its nearest training image {s.memorisation:.3g}, "
           f"from a training image to its nearest other {s.train_distance:.3g}"
           + (f" (ratio {ratio:.2f}: near 0, the model copies)" if ratio is not None else ""))
    copies = getattr(s, "copies", None)
    if _finite(copies):
        tip += f"\n{100 * copies:.1f}% of samples are copies (within 1 level RMS of a training image)"
    return f"{s.memorisation:.2g} vs {s.train_distance:.2g}", ratio, tip


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _optional(value: float | None, text: Callable[[float], str]) -> tuple[str, float | None, str]:
    return ("–", None, "") if not _finite(value) else (text(value), float(value), "")


COLUMNS: tuple[Column, ...] = (
    Column("Clean", "share of samples that are one clean shape on the background", lambda s: _percent(s.clean)),
    Column("Drawn", "share drawn as the renderer draws their attributes", lambda s: _percent(s.drawn)),
    Column("Combos", f"attribute combinations covered (of {COMBINATIONS})",
           lambda s: (f"{s.combinations}", float(s.combinations), f"{s.combinations} of {COMBINATIONS}")),
    Column("Entropy (bits)", "entropy of each attribute over the samples: shape, colour, size, position", _entropy),
    Column("Bits/dim", "likelihood of the validation images in bits per dimension, or why there is none", _bits),
    Column("Memorised", "sample to nearest training image vs training image to its nearest other", _memorisation),
    Column("Evals", "network evaluations per sample", lambda s: (str(s.evaluations), float(s.evaluations), "")),
    Column("ms", "milliseconds per sample on this machine",
           lambda s: (_number(s.ms_per_sample), float(s.ms_per_sample), f"{s.ms_per_sample:.2f} ms per sample")),
    Column("Params", "parameters", lambda s: (_count(s.parameters), float(s.parameters), f"{s.parameters:,}")),
    Column("CPU min", "training compute in CPU minutes (from the checkpoint's JSON)",
           lambda s: _optional(s.train_cpu_minutes, lambda v: _number(v))),
    Column("Adherence", "prompt models: share of full prompts drawn right at the model's best settings",
           lambda s: _percent(s.adherence)),
)
FIXED = ("Model", "Samples")


class SortItem(QTableWidgetItem):
    """A cell that sorts by its number (rows without one first in ascending order), else by its text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:
        mine, theirs = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if isinstance(mine, (int, float)) or isinstance(theirs, (int, float)):
            low = float("-inf")
            return (mine if isinstance(mine, (int, float)) else low) < (theirs if isinstance(theirs, (int, float)) else low)
        return str(mine or self.text()) < str(theirs or other.text())


class ScoresTable(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(0, len(FIXED) + len(COLUMNS), parent)
        self.setHorizontalHeaderLabels([*FIXED, *(c.title for c in COLUMNS)])
        for i, column in enumerate(COLUMNS):
            self.horizontalHeaderItem(len(FIXED) + i).setToolTip(column.tip)
        self.horizontalHeaderItem(1).setToolTip("the first 8 samples, from the same seeds for every model")
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(True)
        self.setIconSize(QSize(strip_width(), THUMB))
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(THUMB + 8)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setMinimumSectionSize(36)
        widths = [136, strip_width() + 10, 46, 50, 56, 92, 150, 76, 40, 46, 50, 60, 70]
        for i, width in enumerate(widths):
            self.setColumnWidth(i, width)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.AscendingOrder)

    # --- rows ------------------------------------------------------------------------------

    def row_of(self, key: str) -> int | None:
        return next((r for r in range(self.rowCount()) if self.item(r, 0).data(KEY_ROLE) == key), None)

    def keys(self) -> list[str]:
        """The models' keys in the order shown."""
        return [self.item(r, 0).data(KEY_ROLE) for r in range(self.rowCount())]

    def show_row(self, row: ModelRow) -> None:
        """Add or update the row of `row.key` (the sort order is kept)."""
        sorting = self.isSortingEnabled()
        self.setSortingEnabled(False)
        index = self.row_of(row.key)
        if index is None:
            index = self.rowCount()
            self.insertRow(index)
        self._fill(index, row)
        self.setSortingEnabled(sorting)

    def remove_missing(self, keys: set[str]) -> None:
        for key in [k for k in self.keys() if k not in keys]:
            self.removeRow(self.row_of(key))

    def _fill(self, index: int, row: ModelRow) -> None:
        s = row.scores
        name = SortItem(f"{row.name}\n{row.family} · {row.state}")
        name.setData(SORT_ROLE, "{:03d} {:d} {:d} {}".format(*row.order))
        name.setData(KEY_ROLE, row.key)
        name.setToolTip(f"{row.path}\nsorted by family, from the autoencoders to diffusion" + (f"\n{s.settings}" if s is not None and s.settings else ""))
        self.setItem(index, 0, name)
        samples = SortItem("")
        samples.setData(SORT_ROLE, row.name)
        if s is not None and s.samples is not None:
            samples.setData(Qt.ItemDataRole.DecorationRole, strip_pixmap(s.samples))
        self.setItem(index, 1, samples)
        for i, column in enumerate(COLUMNS):
            text, key, tip = column.cell(s) if s is not None else ("", None, "")
            item = SortItem(text)
            item.setData(SORT_ROLE, key if key is not None else None)
            item.setToolTip(tip)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            if s is not None and key is None:
                item.setForeground(MUTED)
            self.setItem(index, len(FIXED) + i, item)

    def cell_text(self, key: str, title: str) -> str:
        """What the row of `key` shows under the column `title` (tests and the status line read it)."""
        titles = [self.horizontalHeaderItem(c).text() for c in range(self.columnCount())]
        return self.item(self.row_of(key), titles.index(title)).text()
