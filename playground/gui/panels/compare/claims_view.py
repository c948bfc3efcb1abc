"""The seeds' claims, checked: each claim as a sentence, the measured numbers that bear on it, and
the verdict on this data, coloured (holds green, does not hold red, mixed amber, not measured grey)."""

from __future__ import annotations

from typing import Any, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

VERDICT_COLOURS = {
    "holds": "#2f7d4f",
    "does not hold": "#9c3b3b",
    "mixed": "#8a6a1f",
    "not measured": "#3a3d44",
}


def verdict_colour(verdict: str) -> str:
    return VERDICT_COLOURS.get(verdict, VERDICT_COLOURS["not measured"])


class ClaimsView(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["The seeds' claim", "Measured here", "Verdict"])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setWordWrap(True)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Fixed)
        self.setColumnWidth(2, 120)
        self.verdicts: list[Any] = []

    def show_verdicts(self, verdicts: Sequence[Any]) -> None:
        """`verdicts`: core.compare.claims.ClaimVerdict (claim, numbers, verdict)."""
        self.verdicts = list(verdicts)
        self.setRowCount(len(self.verdicts))
        for row, verdict in enumerate(self.verdicts):
            claim = QTableWidgetItem(verdict.claim)
            rule = getattr(verdict, "rule", "")
            claim.setToolTip(verdict.claim + (f"\nverdict rule: {rule}" if rule else ""))
            numbers = QTableWidgetItem(verdict.numbers)
            numbers.setToolTip(verdict.numbers)
            word = QTableWidgetItem(verdict.verdict)
            word.setToolTip(rule)
            word.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            word.setBackground(QBrush(QColor(verdict_colour(verdict.verdict))))
            word.setForeground(QBrush(QColor("#f2f2f2")))
            for column, item in enumerate((claim, numbers, word)):
                self.setItem(row, column, item)
        self.resizeRowsToContents()

    def verdict_of(self, row: int) -> str:
        return self.item(row, 2).text()
