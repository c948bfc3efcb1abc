"""The app's themes and zoom: a dark theme, and a high-contrast light one for projectors (they wash dark
themes out); a zoom factor scales every font and control.

`apply_theme(app, name, zoom)` sets the Fusion style, the theme's palette, the app font (its
start-up size times `zoom`) and the app style sheet (paddings times `zoom`). Widgets that carry
their own style sheet (a title's "font-size: 15pt; color: #e6e6e6") are restyled too: every pt
and px size is multiplied by `zoom`, and the light theme turns each colour's lightness over
(light text becomes dark text). Their original sheet is kept, so zooming back to 1 in the dark
theme gives the sheet back unchanged; `refresh(app)` restyles widgets made since (the window
calls it when a tab is shown); so are pyqtgraph's axes and plot titles (`zoom_plots`). Pictures,
plots and canvases that paint themselves keep their dark frames in both themes, and the fonts
they paint with their own size.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("dark", "light")
ZOOMS = (0.8, 0.9, 1.0, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5)  # Ctrl+plus / Ctrl+minus step through these

PALETTES = {
    "dark": {
        "Window": "#202225", "WindowText": "#e6e6e6", "Base": "#17181b", "AlternateBase": "#26282c",
        "ToolTipBase": "#2b2d31", "ToolTipText": "#e6e6e6", "Text": "#e6e6e6", "Button": "#2b2d31",
        "ButtonText": "#e6e6e6", "Highlight": "#3d7ae0", "HighlightedText": "#ffffff", "PlaceholderText": "#888888",
        "Disabled": "#777777",
    },
    "light": {  # high contrast: black on white, a strong blue for the selection
        "Window": "#ffffff", "WindowText": "#000000", "Base": "#ffffff", "AlternateBase": "#ededed",
        "ToolTipBase": "#fffbe0", "ToolTipText": "#000000", "Text": "#000000", "Button": "#e4e4e4",
        "ButtonText": "#000000", "Highlight": "#0046b4", "HighlightedText": "#ffffff", "PlaceholderText": "#505050",
        "Disabled": "#7a7a7a",
    },
}

SHEETS = {
    "dark": """
QLabel#note {{ background: #1f2a36; border: 1px solid #2f4356; border-radius: 4px; padding: {p6}px; }}
QLabel#note[warning="true"] {{ background: #3a2a12; border-color: #8a6420; }}
QStatusBar QLabel#device {{ color: #8fbf8f; padding: 0 {p6}px; }}
QTabBar::tab {{ padding: {p6}px {p14}px; }}
QPushButton[runsTab="true"] {{ font-weight: bold; }}
""",
    "light": """
QLabel#note {{ background: #e8f0fb; border: 2px solid #5a82b4; border-radius: 4px; padding: {p6}px; }}
QLabel#note[warning="true"] {{ background: #fff1d2; border-color: #b07a10; }}
QStatusBar QLabel#device {{ color: #0a5a0a; padding: 0 {p6}px; }}
QTabBar::tab {{ padding: {p6}px {p14}px; }}
QTabBar::tab:selected {{ font-weight: bold; }}
QPushButton[runsTab="true"] {{ font-weight: bold; }}
""",
}

_SIZE = re.compile(r"(\d+(?:\.\d+)?)(pt|px)\b")
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")
_BASE_SIZE = "playgroundBasePointSize"  # app property: the font size before any zoom
_BASE_SHEET, _SHOWN_SHEET = "playgroundBaseSheet", "playgroundShownSheet"  # widget properties


def apply_theme(app: QApplication, name: str = "dark", zoom: float = 1.0) -> None:
    """Put `app` in theme `name` ("dark" or "light") at `zoom` (1.0: the fonts' own size)."""
    if name not in PALETTES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}, not {name!r}")
    zoom = clamp_zoom(zoom)
    app.setStyle("Fusion")
    colours = PALETTES[name]
    palette = QPalette()
    for role, colour in colours.items():
        if role != "Disabled":
            palette.setColor(getattr(QPalette.ColorRole, role), QColor(colour))
    for role in (QPalette.ColorRole.ButtonText, QPalette.ColorRole.Text, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(colours["Disabled"]))
    app.setPalette(palette)
    base = app.property(_BASE_SIZE)
    if base is None:
        base = app.font().pointSizeF() if app.font().pointSizeF() > 0 else 10.0
        app.setProperty(_BASE_SIZE, base)
    font = QFont(app.font())
    font.setPointSizeF(round(float(base) * zoom, 1))
    app.setFont(font)
    app.setStyleSheet(SHEETS[name].format(p6=round(6 * zoom), p14=round(14 * zoom)))
    app.setProperty("playgroundTheme", name)
    app.setProperty("playgroundZoom", zoom)
    refresh(app)


def apply_dark_theme(app: QApplication) -> None:
    """The dark theme at the zoom the app has (1 at first)."""
    apply_theme(app, "dark", current_zoom(app))


def current_theme(app: QApplication) -> str:
    return app.property("playgroundTheme") or "dark"


def current_zoom(app: QApplication) -> float:
    return float(app.property("playgroundZoom") or 1.0)


def clamp_zoom(zoom: float) -> float:
    return min(max(float(zoom), ZOOMS[0]), ZOOMS[-1])


def next_zoom(zoom: float, direction: int) -> float:
    """The zoom one step in (`direction` 1) or out (-1) from `zoom`, within ZOOMS."""
    if direction > 0:
        return next((z for z in ZOOMS if z > zoom + 1e-6), ZOOMS[-1])
    return next((z for z in reversed(ZOOMS) if z < zoom - 1e-6), ZOOMS[0])


def refresh(app: QApplication) -> None:
    """Restyle every widget that has its own style sheet for the app's theme and zoom (cheap when
    nothing changed: a widget already restyled keeps its sheet)."""
    name, zoom = current_theme(app), current_zoom(app)
    for widget in app.allWidgets():
        sheet = widget.styleSheet()
        if not sheet:
            continue
        base, shown = widget.property(_BASE_SHEET), widget.property(_SHOWN_SHEET)
        if base is None or sheet != shown:  # never restyled, or its owner set a new sheet since
            base = sheet
        styled = restyled(base, name, zoom)
        widget.setProperty(_BASE_SHEET, base)
        widget.setProperty(_SHOWN_SHEET, styled)
        if styled != sheet:
            widget.setStyleSheet(styled)
    zoom_plots(app, zoom)


def zoom_plots(app: QApplication, zoom: float) -> None:
    """pyqtgraph's axes (tick fonts, labels) and plot titles at `zoom` times the size their owner gave
    them (an owner that sets one again sets its new base size)."""
    import pyqtgraph as pg

    for view in app.allWidgets():
        if isinstance(view, pg.GraphicsView) and view.scene() is not None:
            for item in view.scene().items():
                if isinstance(item, pg.AxisItem):
                    _zoom_axis(item, zoom)
                elif isinstance(item, pg.LabelItem):
                    _zoom_label(item, zoom)


def _zoom_axis(axis, zoom: float) -> None:
    font = axis.style.get("tickFont")
    if font is not None and font.pointSizeF() > 0:
        if getattr(axis, "_zoom_font", None) is not font:  # its owner's font: the base
            axis._zoom_base = font.pointSizeF()
        size = round(axis._zoom_base * zoom, 1)
        if abs(font.pointSizeF() - size) > 0.05:
            font = QFont(font)
            font.setPointSizeF(size)
            axis.setTickFont(font)
        axis._zoom_font = font
    size = axis.labelStyle.get("font-size")
    if size:
        if getattr(axis, "_zoom_label", None) != size:
            axis._zoom_label_base = size
        scaled = restyled(axis._zoom_label_base, "dark", zoom)
        if scaled != size and axis.label is not None:
            axis.labelStyle["font-size"] = scaled
            axis._updateLabel()
        axis._zoom_label = scaled


def _zoom_label(label, zoom: float) -> None:
    shown = (label.opts.get("size"), label.text)
    if getattr(label, "_zoom_shown", None) != shown:
        label._zoom_base = shown
    size, text = (restyled(part, "dark", zoom) if isinstance(part, str) else part for part in label._zoom_base)
    if (size, text) != shown:
        if size is not None:
            label.opts["size"] = size
        label.setText(text)
    label._zoom_shown = (label.opts.get("size"), label.text)


def restyled(sheet: str, name: str, zoom: float) -> str:
    """A widget's style sheet for theme `name` at `zoom`: sizes scaled, colours turned over for "light"."""
    if zoom != 1.0:
        sheet = _SIZE.sub(lambda m: f"{_scaled(float(m[1]), zoom, m[2])}{m[2]}", sheet)
    if name == "light":
        sheet = _COLOUR.sub(lambda m: light_colour(m[0]), sheet)
    return sheet


def light_colour(colour: str) -> str:
    """`colour` with its lightness turned over (#e6e6e6 text -> #191919), its hue and saturation kept;
    a mid-light colour goes darker still, for contrast on white."""
    hue, saturation, lightness, _ = QColor(colour).getHslF()
    turned = 1.0 - lightness
    if lightness > 0.5:
        turned = min(turned, 0.35)  # light text on dark -> dark enough to read on white
    return QColor.fromHslF(max(hue, 0.0), saturation, turned).name()


def _scaled(value: float, zoom: float, unit: str) -> str:
    """A size times `zoom`: whole pixels (at least 1 where there was one), points to a tenth."""
    if unit == "px":
        return str(max(round(value * zoom), 1 if value > 0 else 0))
    return f"{value * zoom:.1f}".removesuffix(".0")
