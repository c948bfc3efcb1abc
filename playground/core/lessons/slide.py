"""A scene as a 1280x720 slide: its title, its picture as large as fits, its caption in a box.

Made for a projector at the back of a room: black on white, the caption at least 20 px
(26 px when it fits in three lines), pixel art scaled up with sharp edges. The font is the
DejaVu Sans the package ships (fonts/, with its licence): it has the math the captions use
(√ ᾱ ε₀ ∇ …), which Pillow's built-in font lacks. `caption_layout` is the one measure of
whether a caption fits its box, used by the slides, the lessons' test and the presenter.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_FILE = Path(__file__).with_name("fonts") / "DejaVuSans.ttf"
SLIDE_SIZE = (1280, 720)
TITLE_PX, CAPTION_PX, MIN_CAPTION_PX, NOTE_PX = 40, 26, 20, 20
CAPTION_LINES = 3          # the caption box holds three lines at CAPTION_PX
LINE_SPACING = 1.3         # a line's height in font sizes
MARGIN, CAPTION_PAD = 28, 14
BACKGROUND, INK, MUTED = (255, 255, 255), (0, 0, 0), (70, 70, 70)
BOX_FILL, BOX_EDGE, FRAME = (240, 242, 246), (190, 194, 202), (120, 120, 120)


@lru_cache(maxsize=32)
def font(px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """The slides' font at `px` pixels (the shipped DejaVu Sans; Pillow's own if that file is gone)."""
    try:
        return ImageFont.truetype(str(FONT_FILE), px)
    except OSError:
        return ImageFont.load_default(size=px)


def line_height(font_px: int) -> int:
    return int(math.ceil(font_px * LINE_SPACING))


def caption_layout(text: str, box: tuple[int, int], font_px: int) -> tuple[list[str], bool]:
    """The caption wrapped to the box's width (words kept whole unless one alone is too wide), and
    whether every line fits the box's width and all lines its height, at `font_px` pixels."""
    width, height = box
    face = font(font_px)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if face.getlength(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            while face.getlength(word) > width and len(word) > 1:  # a word wider than the box: break it
                cut = max([1] + [i for i in range(1, len(word)) if face.getlength(word[:i]) <= width])
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    fits = all(face.getlength(line) <= width for line in lines) and len(lines) * line_height(font_px) <= height
    return lines, fits


def caption_fit(text: str, box: tuple[int, int], largest: int = CAPTION_PX,
                smallest: int = MIN_CAPTION_PX) -> tuple[list[str], int, bool]:
    """The largest font size from `largest` down to `smallest` at which the caption fits the box:
    (lines, px, fits); when none does, the smallest size's lines, cut to the box, and False."""
    for px in range(largest, smallest - 1, -1):
        lines, fits = caption_layout(text, box, px)
        if fits:
            return lines, px, True
    lines, _ = caption_layout(text, box, smallest)
    keep = max(1, box[1] // line_height(smallest))
    if len(lines) > keep:
        lines = lines[:keep - 1] + [_ellipsis(lines[keep - 1], box[0], smallest)]
    return lines, smallest, False


def slide_layout(size: tuple[int, int] = SLIDE_SIZE) -> dict[str, Any]:
    """Where a slide puts its parts (boxes as (x0, y0, x1, y1)), scaled from the 1280x720 design;
    the caption's font never below MIN_CAPTION_PX."""
    w, h = size
    k = h / SLIDE_SIZE[1]
    caption_px = max(MIN_CAPTION_PX, round(CAPTION_PX * k))
    margin, pad = round(MARGIN * k), round(CAPTION_PAD * k)
    title_px = max(MIN_CAPTION_PX, round(TITLE_PX * k))
    title_bottom = margin // 2 + line_height(title_px)
    box_h = CAPTION_LINES * line_height(caption_px) + 2 * pad
    caption_box = (margin, h - margin // 2 - box_h, w - margin, h - margin // 2)
    picture_box = (margin, title_bottom + margin // 2, w - margin, caption_box[1] - margin // 2)
    text_box = (caption_box[2] - caption_box[0] - 2 * pad, caption_box[3] - caption_box[1] - 2 * pad)
    return {"title_px": title_px, "caption_px": caption_px, "note_px": max(MIN_CAPTION_PX, round(NOTE_PX * k)),
            "margin": margin, "pad": pad, "title_y": margin // 4, "caption_box": caption_box,
            "picture_box": picture_box, "caption_text": text_box}


def render_slide(scene, size: tuple[int, int] = SLIDE_SIZE, device: str = "cpu", loaded=None,
                 picture: np.ndarray | None = None, counter: str = "") -> np.ndarray:
    """The scene as a slide (H, W, 3) uint8: its title (and `counter`, e.g. "3/7"), its picture (given,
    else drawn from its recipe with `render_recipe`) as large as fits, its caption in the box below."""
    layout = slide_layout(size)
    if picture is None and scene.recipe.get("picture"):
        from ..reproduce import render_recipe  # the renderers load torch models: only when a picture is drawn

        picture, _, _ = render_recipe(scene.recipe, device, loaded)
    slide = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(slide)
    _draw_title(draw, scene, layout, size, counter)
    if picture is not None:
        _paste_picture(slide, draw, np.asarray(picture, np.uint8), layout["picture_box"])
    else:
        _centred(draw, layout["picture_box"], f"This scene plays live in the {scene.tab} tab "
                 "(playground lesson NAME --present)", layout["caption_px"], MUTED)
    _draw_caption(draw, scene.caption, layout)
    return np.asarray(slide, np.uint8).copy()


def action_note(scene) -> str:
    """A few words on what the scene plays in presenter mode (the slide shows its start)."""
    action = scene.action or {}
    kind = action.get("kind")
    if kind == "sweep":
        back = " and back" if action.get("back") else ""
        return f"▶ plays: {action['key']} {action['from']} → {action['to']}{back}"
    if kind == "fill":
        return "▶ plays: the grid fills cell by cell"
    if kind == "paint":
        return f"▶ plays: {len(action['cells'])} tokens painted"
    if kind == "train":
        return f"▶ live only: {action.get('steps', '')} training steps ({action.get('preset', 'demo')} preset)"
    return ""


def _draw_title(draw: ImageDraw.ImageDraw, scene, layout: dict[str, Any], size: tuple[int, int], counter: str) -> None:
    note = "   ".join(part for part in (action_note(scene), counter) if part)
    note_font = font(layout["note_px"])
    note_width = int(note_font.getlength(note)) if note else 0
    right = size[0] - layout["margin"]
    if note:
        draw.text((right - note_width, layout["title_y"] + layout["title_px"] - layout["note_px"]), note,
                  font=note_font, fill=MUTED)
    room = right - layout["margin"] - note_width - layout["margin"]
    title_font = font(layout["title_px"])
    title = scene.title
    if title_font.getlength(title) > room:
        title = _ellipsis(title, room, layout["title_px"])
    draw.text((layout["margin"], layout["title_y"]), title, font=title_font, fill=INK, stroke_width=1, stroke_fill=INK)


def _paste_picture(slide: Image.Image, draw: ImageDraw.ImageDraw, picture: np.ndarray,
                   box: tuple[int, int, int, int]) -> None:
    """The picture scaled to fill the box, keeping its aspect: up by whole factors with sharp pixels
    (nearest), the rest of the way (and any way down) smoothly, so pixel art stays crisp and large."""
    x0, y0, x1, y1 = box
    h, w = picture.shape[:2]
    factor = min((x1 - x0) / w, (y1 - y0) / h)
    new = (max(1, int(w * factor)), max(1, int(h * factor)))
    image = Image.fromarray(np.ascontiguousarray(picture[..., :3]))
    whole = int(factor)
    if whole >= 2:
        image = image.resize((w * whole, h * whole), Image.Resampling.NEAREST)
    if image.size != new:
        image = image.resize(new, Image.Resampling.LANCZOS)
    left, top = x0 + (x1 - x0 - new[0]) // 2, y0 + (y1 - y0 - new[1]) // 2
    slide.paste(image, (left, top))
    draw.rectangle([left - 1, top - 1, left + new[0], top + new[1]], outline=FRAME)


def _draw_caption(draw: ImageDraw.ImageDraw, caption: str, layout: dict[str, Any]) -> None:
    x0, y0, x1, y1 = layout["caption_box"]
    draw.rectangle([x0, y0, x1, y1], fill=BOX_FILL, outline=BOX_EDGE, width=2)
    lines, px, _ = caption_fit(caption, layout["caption_text"], layout["caption_px"])
    face, step = font(px), line_height(px)
    top = y0 + layout["pad"] + (layout["caption_text"][1] - len(lines) * step) // 2
    for i, line in enumerate(lines):
        draw.text((x0 + layout["pad"], top + i * step), line, font=face, fill=INK)


def _centred(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str, px: int, fill) -> None:
    lines, _ = caption_layout(text, (box[2] - box[0] - 80, box[3] - box[1]), px)
    face, step = font(px), line_height(px)
    top = (box[1] + box[3]) // 2 - len(lines) * step // 2
    for i, line in enumerate(lines):
        draw.text(((box[0] + box[2] - face.getlength(line)) // 2, top + i * step), line, font=face, fill=fill)


def _ellipsis(line: str, width: int, px: int) -> str:
    face = font(px)
    while line and face.getlength(line + "…") > width:
        line = line[:-1]
    return line + "…"
