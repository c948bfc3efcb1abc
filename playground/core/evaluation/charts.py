"""Small charts drawn with Pillow, for PNGs on slides (no matplotlib in the dependencies).

The GUI draws its own live charts with pyqtgraph from the same numbers.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (255, 255, 255)
AXIS = (60, 60, 60)
BAR = (70, 110, 180)
UNUSED = (200, 50, 50)


def usage_histogram_image(counts: np.ndarray, width: int = 960, height: int = 360, title: str | None = None) -> np.ndarray:
    """A bar per code (x: code index, y: cells using it), unused codes marked red under the axis.

    Returns an (height, width, 3) uint8 image.
    """
    counts = np.asarray(counts, dtype=np.int64)
    k = len(counts)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    left, right, top, bottom = 64, 16, 34 if title else 14, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(int(counts.max()) if k else 0, 1)
    base_y = top + plot_h
    bar_w = plot_w / max(k, 1)
    for i, c in enumerate(counts):
        x0 = left + i * bar_w
        x1 = x0 + max(bar_w - (1 if bar_w > 3 else 0), 1)
        if c > 0:
            draw.rectangle([x0, base_y - max(1.0, plot_h * c / peak), x1, base_y], fill=BAR)
        else:
            draw.rectangle([x0, base_y + 2, x1, base_y + 6], fill=UNUSED)
    draw.line([left, top, left, base_y], fill=AXIS)
    draw.line([left, base_y, left + plot_w, base_y], fill=AXIS)
    for value, y in ((peak, top), (peak // 2, top + plot_h / 2), (0, base_y)):
        draw.line([left - 4, y, left, y], fill=AXIS)
        draw.text((left - 6, y), f"{value:,}", fill=AXIS, font=font, anchor="rm")
    step = _tick_step(k)
    for i in range(0, k, step):
        x = left + (i + 0.5) * bar_w
        draw.line([x, base_y, x, base_y + 8], fill=AXIS)
        draw.text((x, base_y + 10), str(i), fill=AXIS, font=font, anchor="mt")
    draw.text((left + plot_w / 2, height - 4), "code index", fill=AXIS, font=font, anchor="mb")
    if title:
        draw.text((width / 2, 8), title, fill=(0, 0, 0), font=ImageFont.load_default(size=15), anchor="mt")
    return np.asarray(image, dtype=np.uint8).copy()


def _tick_step(k: int) -> int:
    for step in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512):
        if k / step <= 16:
            return step
    return max(1, k // 16)


def line_chart_image(x: list[float], series: dict[str, tuple[list[float], tuple[int, int, int]]], *,
                     width: int = 960, height: int = 480, title: str | None = None, x_label: str = "",
                     y_label: str = "", y_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """Lines with dots over shared x values (e.g. adherence and diversity against the guidance scale).

    `series` maps a legend name to (y values, RGB colour); NaNs leave gaps. Returns (height, width, 3) uint8.
    """
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=14)
    left, right, top, bottom = 70, 230, 40 if title else 16, 54
    plot_w, plot_h = width - left - right, height - top - bottom
    x_min, x_max = (min(x), max(x)) if x else (0.0, 1.0)
    x_span = (x_max - x_min) or 1.0
    y_min, y_max = y_range

    def px(xv: float, yv: float) -> tuple[float, float]:
        return left + plot_w * (xv - x_min) / x_span, top + plot_h * (1 - (yv - y_min) / ((y_max - y_min) or 1.0))

    for i in range(6):  # horizontal grid with labels
        yv = y_min + (y_max - y_min) * i / 5
        _, y = px(x_min, yv)
        draw.line([left, y, left + plot_w, y], fill=(225, 225, 225))
        draw.text((left - 8, y), f"{yv:.1f}", fill=AXIS, font=font, anchor="rm")
    for xv in x:
        gx, _ = px(xv, y_min)
        draw.line([gx, top + plot_h, gx, top + plot_h + 6], fill=AXIS)
        draw.text((gx, top + plot_h + 9), f"{xv:g}", fill=AXIS, font=font, anchor="mt")
    draw.line([left, top, left, top + plot_h], fill=AXIS)
    draw.line([left, top + plot_h, left + plot_w, top + plot_h], fill=AXIS)
    for row, (name, (values, colour)) in enumerate(series.items()):
        points = [px(xv, yv) if yv == yv else None for xv, yv in zip(x, values)]
        for a, b in zip(points, points[1:]):
            if a is not None and b is not None:
                draw.line([a, b], fill=colour, width=3)
        for p in points:
            if p is not None:
                draw.ellipse([p[0] - 4, p[1] - 4, p[0] + 4, p[1] + 4], fill=colour)
        ly = top + 10 + row * 24
        draw.line([left + plot_w + 16, ly, left + plot_w + 40, ly], fill=colour, width=3)
        draw.text((left + plot_w + 46, ly), name, fill=(0, 0, 0), font=font, anchor="lm")
    if x_label:
        draw.text((left + plot_w / 2, height - 6), x_label, fill=AXIS, font=font, anchor="mb")
    if y_label:
        draw.text((8, top - 4 if title else 4), y_label, fill=AXIS, font=font, anchor="lt" if not title else "lb")
    if title:
        draw.text((width / 2, 10), title, fill=(0, 0, 0), font=ImageFont.load_default(size=16), anchor="mt")
    return np.asarray(image, dtype=np.uint8).copy()
