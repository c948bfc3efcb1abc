"""The toolbar's model picker: as wide as its longest entry allows, elided (never clipped) when not.

A plain QComboBox sizes itself to the entries it has when first shown, so a later tab's
longer names were cut off mid-word at 1280x720. This one takes the width its entries need,
up to `max_share` of the window, and paints what does not fit with an ellipsis; the full
text (and the file) is in the tooltip and in the drop-down list.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox, QStylePainter, QWidget

OPEN_ITEM = "Open checkpoint…"


class ModelPicker(QComboBox):
    """Entries are (text, checkpoint path); a last entry opens a file dialog (its data is None)."""

    def __init__(self, parent: QWidget | None = None, max_share: float = 0.45):
        super().__init__(parent)
        self.max_share = max_share
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setMinimumContentsLength(16)
        self.setPlaceholderText("no model loaded")
        self.currentIndexChanged.connect(self._update_tooltip)

    def set_entries(self, entries: list[tuple[str, Path]], current: Path | None) -> None:
        """List `entries` (and the open item); select `current`, or nothing (the placeholder) if None."""
        self.blockSignals(True)
        self.clear()
        for text, path in entries:
            self.addItem(text, str(path))
        self.addItem(OPEN_ITEM, None)
        index = -1
        if current is not None:
            index = next((i for i, (_, path) in enumerate(entries) if Path(path).resolve() == current.resolve()), -1)
        self.setCurrentIndex(index)
        self.blockSignals(False)
        self._update_tooltip()
        popup = self.view()
        popup.setMinimumWidth(popup.sizeHintForColumn(0) + 24)  # the list shows every name in full
        self.updateGeometry()

    def fit_to(self, window_width: int) -> None:
        """Cap the width at a share of the window: the rest of the toolbar keeps some room."""
        self.setMaximumWidth(max(self.minimumSizeHint().width(), int(window_width * self.max_share)))

    def displayed_text(self) -> str:
        """The current entry's text as painted: whole if it fits, else cut with an ellipsis."""
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        text = option.currentText or (self.placeholderText() if self.currentIndex() < 0 else "")
        return self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, self._text_rect(option).width())

    def _text_rect(self, option: QStyleOptionComboBox):
        return self.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                           QStyle.SubControl.SC_ComboBoxEditField, self)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        if self.currentIndex() < 0:
            option.palette.setBrush(QPalette.ColorRole.ButtonText, option.palette.placeholderText())
        option.currentText = self.displayed_text()
        painter.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, option)

    def _update_tooltip(self, *_args) -> None:
        path = self.currentData()
        self.setToolTip(f"{self.currentText()}\n{path}" if path else "Pick a model for this tab, or open a checkpoint")
