"""The codebook browser's look, shared by its views: the colours that mean the same thing
everywhere (selected code, hovered cell, dead code), each code's identity colour, and the small
drawing helpers its columns share.

A code has one identity colour (`code_colours`) for its cells in the grid overlay and its bar in
the histogram; on the map a point has the colour the code draws. The selected code is yellow
everywhere.
"""

from __future__ import annotations

import colorsys

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import QLabel

from ...core.images import upscale
from .images import numpy_to_qimage

HIGHLIGHT = "#ffd84a"  # the selected code, everywhere
HOVER = "#5ad7ff"
DEAD = (235, 64, 52)
LABEL_STYLE = {"color": "#d0d0d0", "font-size": "12pt"}


def code_colours(k: int) -> np.ndarray:
    """(K, 3) uint8 colours, one per code, neighbouring indices far apart in hue (golden-ratio steps).

    Distinct rather than similarity-based on purpose: the background of an image is many
    different but similar codes, and the grid overlay should show that it is.
    """
    hues = (np.arange(k) * 0.6180339887) % 1.0
    saturation = np.where(np.arange(k) % 2, 0.55, 0.8)
    colours = [colorsys.hsv_to_rgb(h, s, 0.95) for h, s in zip(hues, saturation)]
    return (np.asarray(colours).reshape(-1, 3) * 255).round().astype(np.uint8)


def mark_dead(tile: np.ndarray) -> np.ndarray:
    """A tile with a red frame and a red diagonal: the code was never used on the data set."""
    tile = tile.copy()
    h, w, _ = tile.shape
    t = max(1, h // 16)
    tile[:t], tile[-t:], tile[:, :t], tile[:, -t:] = DEAD, DEAD, DEAD, DEAD
    for i in range(min(h, w)):
        tile[i, max(0, i - t // 2):i + t // 2 + 1] = DEAD
    return tile


def tile_pixmap(tile: np.ndarray, size: int) -> QPixmap:
    """A tile scaled up by a whole factor (crisp pixels) to at most `size`."""
    return QPixmap.fromImage(numpy_to_qimage(upscale(tile, max(1, size // tile.shape[0]))))


def bold_font(points: int) -> QFont:
    font = QFont()
    font.setPointSize(points)
    font.setBold(True)
    return font


def style_plot(plot: pg.PlotItem) -> None:
    """The histogram's and the map's common look: no menu or buttons, readable light ticks."""
    plot.setMenuEnabled(False)
    plot.hideButtons()
    font = QFont()
    font.setPointSize(11)
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        axis.setTickFont(font)
        axis.setTextPen("#c8c8c8")
        axis.setPen("#666666")


def heading(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("color: #e6e6e6; font-size: 12pt; font-weight: bold;")
    return label


def subheading(text: str) -> QLabel:
    label = QLabel(text)
    label.setStyleSheet("color: #aaa;")
    label.setWordWrap(True)
    return label
