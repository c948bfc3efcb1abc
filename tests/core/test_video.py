"""core/video: MP4 and GIF files decode back to the frames that went in; bad input is one line; a failing
write leaves no file and never touches the one that was there; overlays are drawn, sized to the frame."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from playground.core import video
from playground.core.data.shapes import draw_specs, render
from playground.core.images import make_grid, upscale
from playground.core.video import overlay, read_video, read_video_recipe, write_video

pytest.importorskip("imageio_ffmpeg")

# H.264 is lossy and keeps colour at half resolution: on the playground's pictures (upscaled shapes)
# the mean absolute error is about 0.9/255 at MP4_CRF; 3/255 leaves room for other ffmpeg builds
MP4_MEAN_ERROR = 3.0


def shape_frames(count: int = 6, scale: int = 4) -> list[np.ndarray]:
    """Pictures like the app's: grids of 4 shapes, upscaled (each frame different)."""
    images = np.stack([render(spec) for spec in draw_specs(4 * count, seed=3)])
    return [upscale(make_grid(images[4 * i:4 * i + 4], padding=2), scale) for i in range(count)]


def test_an_mp4_decodes_back_to_the_frames_that_went_in(tmp_path: Path) -> None:
    frames = shape_frames()
    recipe = {"picture": "animation", "prompt": 'a "red" circle; 50% = #1'}
    path = write_video(frames, tmp_path / "run.mp4", fps=10, recipe=recipe)
    back = read_video(path)
    assert len(back) == len(frames)
    assert back[0].shape == frames[0].shape
    errors = [np.abs(a.astype(np.int16) - b).mean() for a, b in zip(frames, back)]
    assert max(errors) < MP4_MEAN_ERROR, errors
    # each frame is its own, not a neighbour's
    assert np.abs(back[1].astype(np.int16) - frames[0]).mean() > 4 * max(errors)
    assert read_video_recipe(path) == recipe
    header = path.read_bytes()[:64]
    assert b"ftyp" in header  # an MP4 container


def test_mp4_sides_are_made_even_and_size_scales_the_frames(tmp_path: Path) -> None:
    frame = np.full((33, 45, 3), 120, np.uint8)
    back = read_video(write_video([frame, frame], tmp_path / "odd.mp4"))
    assert back[0].shape == (34, 46, 3) and len(back) == 2
    back = read_video(write_video([frame] * 3, tmp_path / "wide.mp4", size=90))
    assert back[0].shape == (66, 90, 3)  # 33 * 2 = 66: the aspect kept
    back = read_video(write_video([frame] * 3, tmp_path / "box.gif", size=(64, 32)))
    assert back[0].shape == (32, 64, 3)


def test_a_gif_round_trip_keeps_every_frame(tmp_path: Path) -> None:
    frames = shape_frames(5)
    path = write_video(frames, tmp_path / "run.gif", fps=20, hold_last=1.0, recipe={"seed": 3})
    back = read_video(path)
    assert len(back) == len(frames)
    assert all(b.shape == f.shape for f, b in zip(frames, back))
    assert np.abs(back[2].astype(np.int16) - frames[2]).mean() < 2  # 256 colours: the shapes' few are kept
    assert read_video_recipe(path) == {"seed": 3}
    from PIL import Image
    with Image.open(path) as image:
        image.seek(len(frames) - 1)
        assert image.info["duration"] == 50 + 1000  # the last frame held


def test_mp4_hold_last_repeats_the_last_frame(tmp_path: Path) -> None:
    frames = shape_frames(3)
    back = read_video(write_video(frames, tmp_path / "held.mp4", fps=4, hold_last=1.0))
    assert len(back) == 3 + 4


@pytest.mark.parametrize("name, kwargs, message", [
    ("run.avi", {}, "a video is .mp4 or .gif"),
    ("run", {}, "a video is .mp4 or .gif"),
    ("run.mp4", {"fps": 0}, "fps must be a whole number from 1 to 60"),
    ("run.gif", {"fps": 2.5}, "fps must be a whole number from 1 to 60"),
    ("run.mp4", {"size": 8}, "video width must be a whole number from 16 to 4096"),
    ("run.mp4", {"size": (64, 10_000)}, "video height must be"),
])
def test_bad_settings_are_one_line_and_write_nothing(tmp_path: Path, name: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        write_video(shape_frames(2), tmp_path / name, **kwargs)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".mp4", ".gif"])
def test_a_failing_write_leaves_the_existing_file_untouched(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"run{suffix}"
    path.write_bytes(b"the video that was there")

    def frames():
        yield from shape_frames(3)
        raise RuntimeError("the model failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        write_video(frames(), path)
    with pytest.raises(ValueError, match="frame 3"):  # a frame of another size
        write_video([*shape_frames(2), np.zeros((8, 8, 3), np.uint8)], path)
    with pytest.raises(ValueError, match="at least one frame"):
        write_video([], path)
    assert path.read_bytes() == b"the video that was there"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


def test_mp4_without_imageio_ffmpeg_says_how_to_get_it(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['imageio_ffmpeg'] = None\n"
            "from playground.core.video import write_video\nimport numpy as np\n"
            f"write_video([np.zeros((16, 16, 3), np.uint8)], {str(tmp_path / 'x.mp4')!r})")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "MP4 export needs imageio-ffmpeg: pip install -e '.[video]'" in result.stderr
    assert not (tmp_path / "x.mp4").exists()
    assert video.MISSING_FFMPEG == "MP4 export needs imageio-ffmpeg: pip install -e '.[video]'"


def test_overlay_draws_in_a_corner_sized_to_the_frame() -> None:
    lines = ["step 12 / 50", "t 760", "noise level 0.83", "w 3"]
    for height, width in ((144, 296), (720, 1280)):
        frame = np.full((height, width, 3), 200, np.uint8)
        drawn = overlay(frame, lines)
        changed = np.argwhere(np.any(drawn != frame, axis=2))
        assert len(changed), "something is drawn"
        (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0)
        assert top < height * 0.05 and left < width * 0.05  # the top-left corner
        assert bottom - top < height * 0.4  # a wide frame packs the lines into few rows
        # the text is white on a dark box: readable on a bright picture
        box = drawn[top:bottom + 1, left:right + 1]
        assert box.min() < 100 and box.max() > 240
        assert np.array_equal(frame, np.full((height, width, 3), 200, np.uint8))  # the input is not changed
    small = overlay(np.zeros((144, 296, 3), np.uint8), lines)
    large = overlay(np.zeros((720, 1280, 3), np.uint8), lines)
    rows = lambda img: np.flatnonzero(np.any(img > 0, axis=(1, 2)))  # noqa: E731
    assert rows(large).max() > 3 * rows(small).max()  # text scales with the frame
    assert overlay(np.zeros((32, 32, 3), np.uint8), []).sum() == 0


def test_parse_size() -> None:
    assert video.parse_size("640") == 640
    assert video.parse_size("640x360") == (640, 360)
    for bad in ("", "abc", "640x", "8", "640x360x2"):
        with pytest.raises(ValueError):
            video.parse_size(bad)
