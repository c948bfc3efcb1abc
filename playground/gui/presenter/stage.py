"""The stage: what presenter mode hides and what it shows large.

A panel says which of its widgets are the scene (`Panel.scene_widgets()`, else the table
`SCENE_WIDGETS` here, by panel title, of attribute paths); everything else in the panel
is hidden while presenting, as are the window's tool bars, menu bar, status bar and tab
bar. A panel that names no scene widgets is shown whole, less its explanatory notes
(labels named "note"). `Stage.clear()` shows again exactly what it hid.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication, QLabel, QMainWindow, QMenuBar, QSizePolicy, QStackedWidget, QStatusBar, QTabWidget, QToolBar, QWidget,
)

from .. import theme

# panel title -> the attribute paths (from the panel) of the widgets a room should see
SCENE_WIDGETS: dict[str, tuple[str, ...]] = {
    "VAE / AE / GAN": ("canvas",),
    "Diffusion": ("view.steps", "view.scrubber"),
    "VQ-VAE codebook": ("grid_column.canvas", "codebook_column.views"),
    "Tokens": ("token_tab.grid_title", "token_tab.canvas", "token_tab.cell_title", "token_tab.entropy_label",
               "token_tab.bars", "likelihood_tab", "rerank_tab"),
    "Text to image": ("guidance_tab", "grid_tab", "steps_tab.view.steps", "steps_tab.view.scrubber", "attention_tab",
                      "compare_tab"),
    "CLIP": ("tabs",),
    "Latent / flow": ("tabs",),
    "Train": ("curves", "preview", "progress"),
}


def scene_widgets(panel: QWidget) -> list[QWidget]:
    """The widgets of `panel` that are its scene ([]: the whole panel)."""
    hook = getattr(panel, "scene_widgets", None)
    named = list(hook()) if callable(hook) else []
    if named:
        return named
    found = []
    for path in SCENE_WIDGETS.get(getattr(panel, "title", ""), ()):
        widget = panel
        for part in path.split("."):
            widget = getattr(widget, part, None)
        if isinstance(widget, QTabWidget):  # its page on screen, without the tab bar
            widget = widget.currentWidget()
        if isinstance(widget, QWidget):
            found.append(widget)
    return found


def ignore_other_pages(root: QWidget, keep: list[QWidget]) -> list[tuple[QWidget, QSizePolicy]]:
    """Let the stacks (tab pages) that hold a kept widget be as small as the page on screen: a hidden
    page's minimum size no longer widens the panel. Returns (page, its policy) to put back."""
    changed = []
    for widget in keep:
        child, parent = widget, widget.parentWidget()
        while parent is not None and child is not root:
            if isinstance(parent, QStackedWidget):
                for index in range(parent.count()):
                    page = parent.widget(index)
                    if page is not child and all(page is not done for done, _ in changed):
                        changed.append((page, page.sizePolicy()))
                        page.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            child, parent = parent, parent.parentWidget()
    return changed


def hide_all_but(root: QWidget, keep: list[QWidget]) -> list[QWidget]:
    """Hide every widget under `root` that is neither in `keep` nor holds one; returns those it hid."""
    hidden: list[QWidget] = []

    def visit(widget: QWidget) -> None:
        for child in widget.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
            if child in keep or child.isWindow() or child.isHidden():
                continue
            if any(child.isAncestorOf(k) for k in keep):
                visit(child)
            else:
                child.hide()
                hidden.append(child)

    visit(root)
    return hidden


def notes(root: QWidget) -> list[QWidget]:
    """The explanatory notes of a panel (long text a room does not read)."""
    return [label for label in root.findChildren(QLabel) if label.objectName() == "note" and not label.isHidden()]


def chrome(window: QMainWindow, keep: tuple[QWidget, ...] = ()) -> list[QWidget]:
    """The window's bars (tool, menu, status, the tab bar) that presenter mode hides."""
    bars: list[QWidget] = [w for w in window.findChildren(QToolBar) if w.parent() is window and w not in keep]
    bars += [w for w in window.findChildren(QMenuBar) if w.parent() is window]
    bars += [w for w in window.findChildren(QStatusBar) if w.parent() is window]
    tabs = getattr(window, "tabs", None)
    if tabs is not None:
        bars.append(tabs.tabBar())
    return [w for w in bars if not w.isHidden()]


class Stage:
    """Hides the window's chrome and a panel's controls; `clear()` shows them again."""

    def __init__(self, window: QMainWindow, keep: tuple[QWidget, ...] = ()):
        self.window = window
        self.keep = keep
        self.hidden: list[QWidget] = []
        self.panel: QWidget | None = None

    def set_up(self) -> None:
        for widget in chrome(self.window, self.keep):
            widget.hide()
            self.hidden.append(widget)

    def show_panel(self, panel: QWidget) -> None:
        """Strip `panel` to its scene (again: its page on screen may have changed); the panel shown
        before gets its controls back."""
        self._restore_panel()
        self.panel = panel
        keep = scene_widgets(panel)
        self._policies = ignore_other_pages(panel, keep)
        self._panel_hidden = hide_all_but(panel, keep) if keep else []
        for note in notes(panel):
            if note.isVisible() or not keep:
                note.hide()
                self._panel_hidden.append(note)

    def _restore_panel(self) -> None:
        for widget in getattr(self, "_panel_hidden", []):
            widget.show()
        for page, policy in getattr(self, "_policies", []):
            page.setSizePolicy(policy)
        self._panel_hidden, self._policies = [], []
        self.panel = None

    def clear(self) -> None:
        self._restore_panel()
        for widget in self.hidden:
            widget.show()
        self.hidden = []


class Theme:
    """Presenter mode's look: the light high-contrast theme (gui/theme.py) at a zoom that makes text
    at least `min_px` px; `restore()` puts back the theme and zoom the window had."""

    def __init__(self, min_px: int = 20):
        self.min_px = min_px
        self._saved: tuple[str, float] | None = None

    def apply(self) -> None:
        app = QApplication.instance()
        self._saved = (theme.current_theme(app), theme.current_zoom(app))
        zoom = max(1.0, self.min_px / _font_px(app.font()) * self._saved[1])
        theme.apply_theme(app, "light", max(zoom, self._saved[1]))

    def restore(self) -> None:
        if self._saved is not None:
            theme.apply_theme(QApplication.instance(), *self._saved)
            self._saved = None


def _font_px(font) -> float:
    """A font's height in pixels (point sizes at the screen's logical DPI)."""
    if font.pixelSize() > 0:
        return float(font.pixelSize())
    screen = QApplication.primaryScreen()
    dpi = screen.logicalDotsPerInchY() if screen is not None else 96.0
    return font.pointSizeF() * dpi / 72.0
