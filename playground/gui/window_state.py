"""The main window's size, place, layout, theme and zoom: fitted to the screen at first, then as the user left it.

The first start opens at `PREFERRED_SIZE` shrunk to the screen's available area (a 1280x720
projector has less room than the panels would like; they scroll rather than leave the
screen). Closing saves the geometry, the current tab and every splitter's sizes in a
QSettings INI file in the user's config folder; the next start restores them, and falls
back to the fitted size when the saved place is no longer on any screen.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSettings, QSize
from PySide6.QtWidgets import QApplication, QMainWindow, QSplitter, QTabWidget, QWidget

PREFERRED_SIZE = QSize(1360, 820)
TITLE_BAR = 32  # room left for the window manager's title bar above the client area


def window_settings() -> QSettings:
    """The app's settings file (tests point QSettings' INI user path at a temporary folder)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "playground", "window")


def fitted_geometry(available: QRect, preferred: QSize = PREFERRED_SIZE) -> QRect:
    """The client-area rectangle for a first start: `preferred`, shrunk to fit `available`, centred."""
    width = min(preferred.width(), available.width())
    height = min(preferred.height(), available.height() - TITLE_BAR)
    left = available.left() + (available.width() - width) // 2
    top = available.top() + TITLE_BAR + (available.height() - TITLE_BAR - height) // 2
    return QRect(left, top, width, height)


def available_geometry(window: QWidget) -> QRect:
    screen = window.screen() or QApplication.primaryScreen()
    return screen.availableGeometry()


def _on_some_screen(rect: QRect) -> bool:
    return any(screen.availableGeometry().intersects(rect) for screen in QApplication.screens())


def restore(window: QMainWindow, tabs: QTabWidget, panels: list[QWidget], settings: QSettings) -> None:
    """Put the window where the user left it (or fit it to the screen), with its tab and splitters."""
    geometry = settings.value("geometry")
    restored = geometry is not None and window.restoreGeometry(geometry)
    available = available_geometry(window)
    if not restored or not _on_some_screen(window.geometry()):
        window.setGeometry(fitted_geometry(available))
    elif window.width() > available.width() or window.height() > available.height() - TITLE_BAR:
        window.resize(window.size().boundedTo(fitted_geometry(available, window.size()).size()))
    titles = [tabs.tabText(i) for i in range(tabs.count())]
    tab = settings.value("tab")
    if tab in titles:
        tabs.setCurrentIndex(titles.index(tab))
    for panel in panels:
        for key, splitter in _splitters(panel):
            state = settings.value(key)
            if state is not None:
                splitter.restoreState(state)


def save(window: QMainWindow, tabs: QTabWidget, panels: list[QWidget], settings: QSettings) -> None:
    settings.setValue("geometry", window.saveGeometry())
    settings.setValue("tab", tabs.tabText(tabs.currentIndex()))
    for panel in panels:
        for key, splitter in _splitters(panel):
            settings.setValue(key, splitter.saveState())
    settings.sync()


def _splitters(panel: QWidget) -> list[tuple[str, QSplitter]]:
    """Every splitter of a panel, keyed by the panel's class and the splitter's place among them."""
    return [(f"splitters/{type(panel).__name__}/{i}", s) for i, s in enumerate(panel.findChildren(QSplitter))]


def saved_look(settings: QSettings) -> tuple[str, float]:
    """The theme ("dark" or "light") and zoom the user left the app in (dark, 1 at first)."""
    theme = settings.value("view/theme", "dark")
    try:
        zoom = float(settings.value("view/zoom", 1.0))
    except (TypeError, ValueError):
        zoom = 1.0
    return (theme if theme in ("dark", "light") else "dark"), zoom


def save_look(settings: QSettings, theme: str, zoom: float) -> None:
    settings.setValue("view/theme", theme)
    settings.setValue("view/zoom", zoom)
    settings.sync()
