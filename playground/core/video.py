"""Animations as files: MP4 (H.264, yuv420p, through the ffmpeg that imageio-ffmpeg ships) and GIF (Pillow).

Every animation the playground exports (a denoising run, an interpolation, a token-by-token
generation, a training run's fixed-noise samples, a lesson's action) is a list of (H, W, 3)
uint8 frames that goes through `write_video`: one place that checks the suffix, the frame rate
and the size, scales the frames, draws their overlays (`overlay`: t, the noise level, w, the
step, in a corner, sized to the frame) and writes the file atomically, so a run that fails
half-way leaves no file behind and never destroys the one that was there.

H.264 is lossy and stores colour at half resolution (yuv420p, what every player plays), so an
MP4 decodes back close to its frames, not equal to them (`MP4_CRF` keeps it within about 1/255
on the playground's pictures); its sides are made even. A GIF keeps 256 colours a frame.
Both carry the recipe as JSON: the GIF in its comment, the MP4 in its "comment" metadata.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .checks import IntRange
from .images import atomic_path

VIDEO_SUFFIXES = (".mp4", ".gif")
VIDEO_FORMATS = {".mp4": "MP4 (*.mp4)", ".gif": "GIF (*.gif)"}
DEFAULT_FPS = 12
fps_range = IntRange(1, 60)
side_range = IntRange(16, 4096)     # pixels of an exported frame's width or height
PRESENTABLE_WIDTH = 720             # a default export is at least this wide (a projector's 1280x720)
MP4_CRF = 12                        # x264 constant quality: 0 lossless .. 51 worst; 12 looks like the frames
# RGB <-> yuv420p: average each 2x2 block's colour (not bicubic, which bleeds across the crisp pixel
# edges of upscaled pictures: 4.6/255 mean error on random 4x4 blocks instead of 1.8)
ENCODE_SCALING = ["-sws_flags", "area+accurate_rnd+full_chroma_int"]
DECODE_SCALING = ["-sws_flags", "neighbor+accurate_rnd+full_chroma_int"]
MISSING_FFMPEG = "MP4 export needs imageio-ffmpeg: pip install -e '.[video]'"
Size = int | tuple[int, int] | None


def video_suffix(path: str | Path) -> str:
    """The file's kind, ".mp4" or ".gif"; one-line ValueError for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"{Path(path).name}: a video is .mp4 or .gif, not {suffix or 'a name without a suffix'!r}")
    return suffix


def check_fps(fps: Any, name: str = "fps") -> int:
    return fps_range.check(fps, name)


def parse_size(text: str) -> tuple[int, int] | int:
    """`--size`: "640" (the width; the height keeps the frames' aspect) or "640x360"; ValueError otherwise."""
    parts = str(text).lower().replace(" ", "").split("x")
    if len(parts) not in (1, 2) or not all(p.isdigit() for p in parts):
        raise ValueError(f"--size must be a width (e.g. 640) or WIDTHxHEIGHT (e.g. 640x360), not {text!r}")
    if len(parts) == 1:
        return side_range.check(int(parts[0]), "--size")
    return side_range.check(int(parts[0]), "--size width"), side_range.check(int(parts[1]), "--size height")


def frame_size(shape: tuple[int, ...], size: Size = None, even: bool = False) -> tuple[int, int]:
    """(width, height) of the exported frames for frames of `shape` (H, W, ...): `size` is None (as they
    are), a width (the height keeps the aspect) or (width, height); `even` rounds each side up to even."""
    h, w = int(shape[0]), int(shape[1])
    if size is None:
        out = (w, h)
    elif isinstance(size, (tuple, list)):
        if len(size) != 2:
            raise ValueError(f"a video size is a width or (width, height), not {size!r}")
        out = (side_range.check(size[0], "video width"), side_range.check(size[1], "video height"))
    else:
        width = side_range.check(size, "video width")
        out = (width, max(1, round(h * width / w)))
    if even:
        out = (out[0] + out[0] % 2, out[1] + out[1] % 2)
    return out


def presentable_width(width: int, minimum: int = PRESENTABLE_WIDTH) -> int:
    """`width` enlarged by a whole factor to at least `minimum` px (every pixel stays square and sharp):
    the default size of an exported animation of small pictures."""
    width = max(int(width), 1)
    return int(min(side_range.high, max(side_range.low, width * max(1, -(-minimum // width)))))


def fitted(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`frame` scaled to (width, height): whole-number enlargements stay crisp (nearest), others are smoothed."""
    h, w = frame.shape[:2]
    if (w, h) == tuple(size):
        return frame
    crisp = size[0] >= w and size[1] >= h
    image = Image.fromarray(np.ascontiguousarray(frame))
    return np.asarray(image.resize(size, Image.NEAREST if crisp else Image.LANCZOS), dtype=np.uint8)


# --- overlays ---------------------------------------------------------------------------------


def overlay_font_px(height: int, scale: float | None = None) -> int:
    """Text size for a frame `height` pixels tall: about 1/20 of it, at least 11 px (readable at any export size)."""
    px = height / 20 if scale is None else 10 * scale
    return max(11, int(round(px)))


SEPARATOR = "  \u00b7  "


def packed(lines: Sequence[str], fits) -> list[str]:
    """`lines` joined by " · " as long as a joined line `fits` (so a wide frame shows one row, not a column)."""
    rows: list[str] = []
    for line in lines:
        if rows and fits(rows[-1] + SEPARATOR + line):
            rows[-1] += SEPARATOR + line
        else:
            rows.append(line)
    return rows


def overlay(frame: np.ndarray, lines: Sequence[str], scale: float | None = None, corner: str = "top-left") -> np.ndarray:
    """`frame` with `lines` (e.g. "step 12 / 50", "t 760", "noise level 0.83", "w 3") drawn in a corner on a
    dark translucent box, joined into rows as wide as the frame allows; text sized to the frame (`scale`
    1 = 10 px). The frame passed in is not changed."""
    lines = [str(line) for line in lines if str(line)]
    if not lines:
        return frame
    h, w = frame.shape[:2]
    font = ImageFont.load_default(size=overlay_font_px(h, scale))
    px = font.size
    pad, gap = max(2, px // 3), max(1, px // 5)
    rows = packed(lines, lambda text: font.getlength(text) + 4 * pad <= w)
    box_w = max(math.ceil(font.getlength(row)) for row in rows) + 2 * pad
    box_h = len(rows) * px + (len(rows) - 1) * gap + 2 * pad
    x0 = pad if "left" in corner else w - box_w - pad
    y0 = pad if "top" in corner else h - box_h - pad
    image = Image.fromarray(np.ascontiguousarray(frame)).convert("RGBA")
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.rounded_rectangle((x0, y0, x0 + box_w, y0 + box_h), radius=pad, fill=(0, 0, 0, 170))
    for i, row in enumerate(rows):
        draw.text((x0 + pad, y0 + pad + i * (px + gap)), row, font=font, fill=(255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(image, layer).convert("RGB"), dtype=np.uint8)


def step_lines(step: int, steps: int, t: float | None = None, noise_level: float | None = None,
               w: float | None = None) -> list[str]:
    """The overlay of a denoising step (`step` counted 1..steps, as the scrubber shows it)."""
    lines = [f"step {step} / {steps}"]
    if t is not None:
        lines.append(f"t {t:g}" if float(t) != int(t) else f"t {int(t)}")
    if noise_level is not None:
        lines.append(f"noise level {noise_level:.2f}")
    if w is not None:
        lines.append(f"w {w:g}")
    return lines


# --- writing and reading ----------------------------------------------------------------------


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: int = DEFAULT_FPS, size: Size = None,
                captions: Sequence[Sequence[str]] | None = None, hold_last: float = 0.0,
                recipe: dict[str, Any] | None = None, corner: str = "top-left") -> Path:
    """Write (H, W, 3) uint8 frames as an MP4 or a GIF (by `path`'s suffix), `fps` frames a second.

    `size`: None (as the frames are), a width, or (width, height); `captions[i]`: overlay lines drawn
    on frame i after scaling (so they stay sharp), in `corner` ("top-left", "bottom-left", ...); `hold_last`: seconds the last frame stays;
    `recipe`: JSON stored in the file. ValueError (one line) for a bad suffix, fps or size, no frames,
    frames of different sizes, or MP4 without imageio-ffmpeg; nothing is written then.
    """
    suffix = video_suffix(path)
    fps = check_fps(fps)
    if hold_last < 0 or not math.isfinite(hold_last):
        raise ValueError(f"hold_last must be a finite number of seconds >= 0, not {hold_last!r}")
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise ValueError("a video needs at least one frame")
    shape = np.shape(first)
    out_size = frame_size(shape, size, even=suffix == ".mp4")
    if suffix == ".mp4":
        require_ffmpeg()

    def prepared():
        for i, frame in enumerate(_chain(first, frames)):
            frame = np.asarray(frame)
            if frame.shape != shape or frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                raise ValueError(f"frame {i + 1} is {frame.shape} {frame.dtype}; every frame must be "
                                 f"(H, W, 3) uint8 like the first {shape}")
            frame = fitted(frame, out_size)
            if captions is not None and i < len(captions):
                frame = overlay(frame, captions[i], corner=corner)
            yield frame

    path = Path(path)
    with atomic_path(path) as tmp:
        if suffix == ".gif":
            _write_gif(tmp, prepared(), fps, hold_last, recipe)
        else:
            _write_mp4(tmp, prepared(), out_size, fps, hold_last, recipe)
    return path


def _chain(first, rest):
    yield first
    yield from rest


def require_ffmpeg() -> str:
    """The path of the ffmpeg imageio-ffmpeg ships; one-line ValueError when it is not installed."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ValueError(MISSING_FFMPEG) from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        raise ValueError(MISSING_FFMPEG + " (its ffmpeg binary was not found)") from None


def _write_gif(tmp: Path, frames: Iterable[np.ndarray], fps: int, hold_last: float, recipe: dict | None) -> None:
    images = [Image.fromarray(np.ascontiguousarray(f)) for f in frames]
    duration = [round(1000 / fps)] * len(images)
    duration[-1] += round(1000 * hold_last)
    extra = {"comment": json.dumps(recipe, allow_nan=False).encode()} if recipe is not None else {}
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0, **extra)


def _write_mp4(tmp: Path, frames: Iterable[np.ndarray], size: tuple[int, int], fps: int, hold_last: float,
               recipe: dict | None) -> None:
    import imageio_ffmpeg

    params = ENCODE_SCALING + ["-crf", str(MP4_CRF), "-movflags", "+faststart"]
    if recipe is not None:
        params += ["-metadata", "comment=" + json.dumps(recipe, allow_nan=False)]
    writer = imageio_ffmpeg.write_frames(str(tmp), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p",
                                         quality=None, macro_block_size=1, ffmpeg_log_level="error",
                                         output_params=params)
    writer.send(None)
    try:
        last = None
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
            last = frame
        for _ in range(round(hold_last * fps)):
            writer.send(np.ascontiguousarray(last))
    except BaseException:
        writer.close()  # ffmpeg stops; atomic_path removes its half-written file
        raise
    try:
        writer.close()
    except (OSError, RuntimeError) as exc:  # ffmpeg refused (e.g. a full disk)
        raise ValueError(f"ffmpeg could not write the MP4: {str(exc).splitlines()[0]}") from None


def read_video(path: str | Path) -> list[np.ndarray]:
    """Every frame of an MP4 or GIF as (H, W, 3) uint8 (for tests and checks)."""
    suffix = video_suffix(path)
    if suffix == ".gif":
        with Image.open(path) as image:
            frames = []
            for i in range(getattr(image, "n_frames", 1)):
                image.seek(i)
                frames.append(np.asarray(image.convert("RGB"), dtype=np.uint8).copy())
            return frames
    require_ffmpeg()
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24", output_params=DECODE_SCALING)
    meta = next(reader)
    w, h = meta["size"]
    return [np.frombuffer(raw, np.uint8).reshape(h, w, 3).copy() for raw in reader]


def read_video_recipe(path: str | Path) -> dict[str, Any] | None:
    """The recipe `write_video` stored in a GIF's comment or an MP4's metadata, or None."""
    if video_suffix(path) == ".gif":
        with Image.open(path) as image:
            comment = image.info.get("comment")
        return json.loads(comment) if comment else None
    import subprocess

    probe = subprocess.run([require_ffmpeg(), "-hide_banner", "-i", str(path), "-f", "ffmetadata", "-"],
                           capture_output=True, text=True, check=False)
    for line in probe.stdout.splitlines():
        if line.startswith("comment="):
            return json.loads(re.sub(r"\\(.)", r"\1", line[len("comment="):]))  # ffmetadata's escapes
    return None
