"""A panel in a scroll area that scrolls only what does not fit (a 1280x720 projector)."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget


def scrolling_page(panel: QWidget) -> QScrollArea:
    """The panel in a frameless scroll area: on a small screen (a 1280x720 projector) the
    window can still shrink, and what does not fit scrolls instead of being cut off."""
    page = QWidget()
    _FixedLayout(page).addWidget(panel)
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area


class _FixedLayout(QVBoxLayout):
    """A margin-free layout that tells the scroll area it has no height-for-width.

    With one (word-wrapped labels give every panel one), QScrollArea stretches the page to
    its preferred height at the current width and scrolls although the panel fits.
    """

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        self.setContentsMargins(0, 0, 0, 0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt's name)
        return False
