"""The options of every command that writes an animation: `--fps`, `--size`, `--overlays` (and the
check of a `--trajectory run.mp4|run.gif` path before any work is done). The file is written by
`core.video.write_video`."""

from __future__ import annotations

import argparse
from typing import Any

from ..core import video


def _checked(function, text: str) -> Any:
    try:
        return function(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def video_path(text: str) -> str:
    """argparse `type=`: a .mp4 or .gif path (MP4 only where imageio-ffmpeg is installed)."""
    if _checked(video.video_suffix, text) == ".mp4":
        _checked(lambda _: video.require_ffmpeg(), text)
    return text


def add_video_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fps", type=video.fps_range, default=video.DEFAULT_FPS,
                        help=f"frames a second of the video ({video.fps_range.describe()}; default {video.DEFAULT_FPS})")
    parser.add_argument("--size", type=lambda text: _checked(video.parse_size, text), default=None,
                        help="the video's frame size: a width (e.g. 640; the height keeps the aspect) or WIDTHxHEIGHT "
                             f"(default: the frames enlarged by a whole factor to at least {video.PRESENTABLE_WIDTH} px wide)")
    parser.add_argument("--overlays", action=argparse.BooleanOptionalAction, default=True,
                        help="draw the step, t, the noise level and w in a corner of each frame (default on)")


def write(args: argparse.Namespace, path: str, frames, captions, recipe: dict | None = None,
          hold_last: float = 0.0):
    """Write the frames (a list) with the command's --fps, --size and --overlays."""
    size = args.size if args.size is not None else video.presentable_width(frames[0].shape[1])
    return video.write_video(frames, path, fps=args.fps, size=size,
                             captions=captions if args.overlays else None, hold_last=hold_last, recipe=recipe)
