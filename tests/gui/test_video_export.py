""""Export video…": the dialog's settings, and exports written in the background (the panel's worker, or a
worker of the export's own for a panel without one) while the GUI thread goes on."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QDialog

from playground.core.diffusion.trajectory_pictures import HOLD_LAST_S, frame_row
from playground.core.video import read_video, read_video_recipe, write_video
from playground.gui.panels.base import Panel
from playground.gui.widgets import video_export
from playground.core.video import presentable_width
from playground.gui.widgets.video_export import VideoExportDialog, VideoSettings, start_export

pytest.importorskip("imageio_ffmpeg")
SHOTS = Path("/work/notes/shots")


def test_the_dialog_asks_format_size_fps_and_overlays(qtbot, monkeypatch) -> None:
    dialog = VideoExportDialog("the denoising run", (296, 144), 50, fps=16)
    qtbot.addWidget(dialog)
    assert dialog.width.value() == presentable_width(296) == 888  # 3x: at least 720 px, pixels kept square
    assert dialog.settings() == VideoSettings(".mp4", 888, 16, True)
    assert "50 frames at 888x432 px: 3.1 s" in dialog.summary.text()
    dialog.format.setCurrentIndex(dialog.format.findData(".gif"))
    dialog.width.setValue(296)
    dialog.fps.setValue(10)
    dialog.overlays.setChecked(False)
    assert dialog.settings() == VideoSettings(".gif", None, 10, False)  # the frames' own width: no scaling
    assert "50 frames at 296x144 px: 5.0 s" in dialog.summary.text()
    # the format and overlays chosen last are offered again
    monkeypatch.setattr(VideoExportDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(VideoExportDialog, "settings", lambda self: VideoSettings(".gif", None, 10, False))
    monkeypatch.setattr(video_export, "save_file", lambda *args: "")  # cancelled in the file dialog
    assert video_export.ask_video(Panel(None, torch.device("cpu")), "x", "x", (32, 32), 3, None) is None
    monkeypatch.undo()
    again = VideoExportDialog("the denoising run", (296, 144), 50)
    qtbot.addWidget(again)
    assert again.settings().suffix == ".gif" and not again.settings().overlays
    plain = VideoExportDialog("the training run's samples", (101, 101), 3, overlays_available=False)
    qtbot.addWidget(plain)
    assert not plain.overlays.isEnabled() and not plain.settings().overlays
    assert "3 frames at 808x808 px" in plain.summary.text()  # 8x, made even for MP4
    if SHOTS.is_dir():
        dialog.format.setCurrentIndex(0)
        dialog.width.setValue(888)
        dialog.overlays.setChecked(True)
        dialog.resize(560, dialog.sizeHint().height())
        dialog.show()
        qtbot.waitExposed(dialog)
        dialog.grab().save(str(SHOTS / "video-export-dialog.png"))


def test_a_panel_without_a_worker_exports_in_the_background(qtbot, tmp_path: Path) -> None:
    """The Train panel's case: no worker of its own. The write waits here until the test lets it go:
    the GUI thread is free meanwhile, and the status bar says it is writing, then where it wrote."""
    panel = Panel(None, torch.device("cpu"))
    qtbot.addWidget(panel)
    messages: list[str] = []
    panel.status_message.connect(messages.append)
    release, started = threading.Event(), threading.Event()
    frames = [np.full((32, 48, 3), 40 * i, np.uint8) for i in range(5)]

    def write(path: Path, settings: VideoSettings, ctx) -> Path:
        started.set()
        assert release.wait(10)
        return write_video(video_export.progressed(frames, ctx, len(frames)), path, **settings.write_options())

    path = tmp_path / "samples.mp4"
    threads = threading.active_count()
    start_export(panel, path, VideoSettings(".mp4", 96, 8), write)
    assert started.wait(10) and not path.exists()  # the GUI thread is back here while the export runs
    assert messages == ["Writing samples.mp4…"]
    release.set()
    qtbot.waitUntil(lambda: any(m.startswith("Saved") for m in messages), timeout=20000)
    assert f"Saved {path}" in messages[-1]
    back = read_video(path)
    assert len(back) == 5 and back[0].shape == (64, 96, 3)
    qtbot.waitUntil(lambda: threading.active_count() <= threads, timeout=5000)  # its worker is stopped


def test_a_failing_export_reports_and_keeps_the_old_file(qtbot, tmp_path: Path) -> None:
    panel = Panel(None, torch.device("cpu"))
    qtbot.addWidget(panel)
    messages: list[str] = []
    panel.status_message.connect(messages.append)
    path = tmp_path / "old.gif"
    path.write_bytes(b"old")

    def write(path: Path, settings: VideoSettings, ctx) -> Path:
        return write_video([np.zeros((4, 4, 3), np.uint8)], path, size=2)  # too small

    start_export(panel, path, VideoSettings(".gif"), write)
    qtbot.waitUntil(lambda: messages[-1].startswith("Error"), timeout=10000)
    assert "video width must be a whole number from 16 to 4096" in messages[-1]
    assert path.read_bytes() == b"old"


def test_the_denoising_run_exports_as_video(main_window, qtbot, tmp_path: Path, monkeypatch) -> None:
    from playground.gui.panels.diffusion import DiffusionPanel

    panel = next(p for p in main_window.panels if isinstance(p, DiffusionPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    view = panel.view
    exports = view.exports
    assert not exports.video_button.isEnabled()  # nothing to export before a run
    controls = panel.controls
    controls.sampler_box.setCurrentIndex(controls.sampler_box.findData("ddim"))
    controls.steps.setText("6")
    controls.seed_field.setText("21")
    view.run_button.click()
    qtbot.waitUntil(lambda: view.current is not None and not view.sampling, timeout=30000)
    run = view.current
    assert exports.video_button.isEnabled()

    path = tmp_path / "run.mp4"
    monkeypatch.setattr(VideoExportDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(video_export, "save_file", lambda *args: str(path.with_suffix("")))  # typed without suffix
    messages: list[str] = []
    panel.status_message.connect(messages.append)
    exports.video_button.click()
    assert messages and messages[-1] == "Writing run.mp4…"  # written on the worker: not yet
    qtbot.waitUntil(lambda: messages[-1].startswith(("Saved", "Error")), timeout=30000)
    assert messages[-1].startswith(f"Saved {path}")
    frames = read_video(path)
    fps = 16
    assert len(frames) == 6 + round(HOLD_LAST_S * fps)
    natural = frame_row(run, 5, ("x_t", "pred_x0"), 4)  # what the export draws, before its size
    assert frames[0].shape[:2] == (natural.shape[0] * 3, natural.shape[1] * 3)  # the default: 3x, at least 720 px
    recipe = read_video_recipe(path)
    assert recipe["seed"] == 21 and recipe["steps"] == 6 and recipe["picture"] == "animation"
    assert recipe["frame_step_indices"] == list(range(6)) and recipe["fps"] == fps
    # the last step's frame is the run's, enlarged; its lower half (below the overlay) decodes back close to it
    expected = np.repeat(np.repeat(natural, 3, axis=0), 3, axis=1)
    half = expected.shape[0] // 2
    assert np.abs(frames[5][half:].astype(np.int16) - expected[half:]).mean() < 3
    assert np.abs(frames[5][:half // 3, :half].astype(np.int16) - expected[:half // 3, :half]).mean() > 10  # overlay
    if SHOTS.is_dir():
        from PIL import Image
        Image.fromarray(frames[2]).save(SHOTS / "video-frame-overlay.png")


def _export_with(button, panel, path: Path, monkeypatch, qtbot, settings: VideoSettings | None = None) -> list[str]:
    """Click an "Export video…" button, accept its dialog (with `settings`), save to `path`; wait until written."""
    monkeypatch.setattr(VideoExportDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    if settings is not None:
        monkeypatch.setattr(VideoExportDialog, "settings", lambda self: settings)
    monkeypatch.setattr(video_export, "save_file", lambda *args: str(path))
    messages: list[str] = []
    panel.status_message.connect(messages.append)
    button.click()
    assert messages and messages[-1] == f"Writing {path.name}…"
    qtbot.waitUntil(lambda: messages[-1].startswith(("Saved", "Error")), timeout=30000)
    assert messages[-1].startswith(f"Saved {path}"), messages[-1]
    return messages


def test_interpolation_tokens_and_training_previews_export_as_video(main_window, qtbot, tmp_path, monkeypatch) -> None:
    from playground.core.latent.animation import interpolation_frames, interpolation_ts
    from playground.core.latent.sampling import prior_latents
    from playground.core.training.live import LiveUpdate
    from playground.gui.panels.latent import LatentPanel
    from playground.gui.panels.tokens import TokensPanel
    from playground.gui.panels.tokens.token_tab import SPEEDS
    from playground.gui.panels.train import TrainPanel

    # the Latent panel's interpolation: A to B and back, each frame the decoded z at its t
    latent = next(p for p in main_window.panels if isinstance(p, LatentPanel))
    qtbot.waitUntil(lambda: latent.loaded is not None, timeout=10000)
    view = latent.interpolate_view
    a, b = prior_latents(6, 2, 3).numpy()
    latent.set_latent(a)
    view.set_endpoint("A")
    latent.set_latent(b)
    view.set_endpoint("B")
    path = tmp_path / "interpolation.gif"
    _export_with(view.export_button, latent, path, monkeypatch, qtbot, VideoSettings(".gif", None, 20, False))
    frames = read_video(path)
    expected, captions = interpolation_frames(latent.loaded.model, a, b, "spherical")
    assert len(frames) == len(expected) == len(interpolation_ts()) == 78 and len(captions) == 78
    error = lambda i, j: np.abs(frames[i].astype(np.int16) - expected[j]).mean()  # noqa: E731
    assert error(20, 20) < 12  # GIF: 256 colours of a noisy (untrained) picture
    assert error(20, 20) < error(20, 0) / 2 and error(20, 20) < error(20, 39) / 2  # t 0.51: neither A nor B
    assert read_video_recipe(path)["picture"] == "interpolation"

    # the Tokens panel: the grid filling cell by cell (64 cells: 65 frames, the last held 1 s)
    tokens = next(p for p in main_window.panels if isinstance(p, TokensPanel))
    qtbot.waitUntil(lambda: tokens.loaded is not None, timeout=10000)
    tokens.token_tab.speed_box.setCurrentIndex(len(SPEEDS) - 1)
    main_window.show_panel(tokens)
    tab = tokens.token_tab
    qtbot.waitUntil(lambda: tab.frame is not None and tab.frame.done and not tab.playing, timeout=20000)
    path = tmp_path / "tokens.mp4"
    _export_with(tab.video_button, tokens, path, monkeypatch, qtbot, VideoSettings(".mp4", None, 16, True))
    frames = read_video(path)
    assert len(frames) == 65 + 16 and frames[0].shape == (256, 256, 3)
    final = np.repeat(np.repeat(tab.frame.image, 8, axis=0), 8, axis=1)
    assert np.abs(frames[-1][128:].astype(np.int16) - final[128:]).mean() < 3  # the written image, below the overlay
    assert read_video_recipe(path)["tokens"] == tab.frame.grid().tolist()

    # the Train panel (no worker): the previews it kept, one frame each
    train = next(p for p in main_window.panels if isinstance(p, TrainPanel))
    main_window.show_panel(train)
    train._draw_timer.start()
    for step in (0, 100, 200, 300):
        image = np.full((16, 16, 3), 60 * (step // 100), np.uint8)
        train.process.message.emit(LiveUpdate(step, 300, {"loss": 1.0}, 5.0, 10.0, image, step))
    qtbot.waitUntil(lambda: len(train.snapshots.images) == 4, timeout=5000)
    train._draw_timer.stop()
    assert train.snapshots.button.isEnabled()
    path = tmp_path / "training.mp4"
    _export_with(train.snapshots.button, train, path, monkeypatch, qtbot, VideoSettings(".mp4", 64, 4, False))
    frames = read_video(path)
    assert len(frames) == 4 + 4 and frames[0].shape == (64, 64, 3)
    assert [round(float(f.mean()) / 60) for f in frames[:4]] == [0, 1, 2, 3]
    assert read_video_recipe(path)["preview_steps"] == [0, 100, 200, 300]


def test_a_guided_flow_run_exports_with_its_noise_level_and_w(main_window, qtbot, tmp_path) -> None:
    """Text to image on the tiny sit (a flow, K = 100): the noise level of a flow's x_t is its time s = t / K,
    w is the run's guidance; a latent run's steps are decoded for the video (on the worker, in the app)."""
    from playground.core.diffusion.trajectory_pictures import step_captions
    from playground.gui.panels.text2img import Text2ImgPanel
    from playground.gui.widgets.steps.export import save_animation

    panel = next(p for p in main_window.panels if isinstance(p, Text2ImgPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.result is not None, timeout=30000)
    picker = main_window.model_picker
    index = next(i for i in range(picker.count()) if "sit-tiny" in picker.itemText(i))
    picker.setCurrentIndex(index)
    picker.activated.emit(index)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.loaded.family == "sit", timeout=20000)
    sampler = panel.controls.sampler
    sampler.sampler_box.setCurrentIndex(sampler.sampler_box.findData("euler"))
    sampler.steps.setText("4")
    with qtbot.waitSignal(panel.rendered, timeout=60000):
        panel.generate()
    run = panel.result.trajectory
    header = panel.steps_tab.recipe_header()
    captions = step_captions(run, list(range(run.count)), header)
    levels = [float(c[2].split()[-1]) for c in captions]
    assert levels == [round(int(t) / 100, 2) for t in run.t]  # s = t / K
    assert levels[0] == 1.0 and levels == sorted(levels, reverse=True)
    assert all(c[-1] == f"w {header['guidance_scale']:g}" for c in captions) and header["guidance_scale"] == 2.0
    assert captions[1][:2] == ["step 2 / 4", f"t {int(run.t[1])}"]
    path = save_animation(tmp_path / "flow.mp4", header, run, VideoSettings(".mp4", 400, 8, True))
    assert run.missing_pictures == 0
    frames = read_video(path)
    assert len(frames) == 4 + round(HOLD_LAST_S * 8) and frames[0].shape[1] == 400
    assert read_video_recipe(path)["family"] == "sit"


def test_the_flow_comparison_exports_the_samplers_walks(main_window, qtbot, tmp_path, monkeypatch) -> None:
    """Latent / flow: each sampler's x_t decoded, step by step, side by side (10 steps: x_T and 10 more)."""
    import torch._dynamo  # noqa: F401  (the cost table's first FLOP count imports it: not while the window closes)

    from playground.core.latent_diffusion.path_animation import decoded_path
    from playground.gui.panels.flow import FlowPanel

    panel = next(p for p in main_window.panels if isinstance(p, FlowPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and bool(panel.flow_view.paths), timeout=30000)
    view = panel.flow_view
    path = tmp_path / "walks.gif"
    _export_with(view.video_button, panel, path, monkeypatch, qtbot, VideoSettings(".gif", 1080, 4, True))
    frames = read_video(path)
    assert len(frames) == 11 and frames[0].shape[1] == 1080
    if SHOTS.is_dir():
        from PIL import Image
        Image.fromarray(frames[3]).save(SHOTS / "video-flow-walks.png")
    recipe = read_video_recipe(path)
    assert recipe["picture"] == "flow-compare-animation" and recipe["samplers"] == ["ddpm", "ddim", "euler", "heun"]
    euler = next(p for p in view.paths if p.sampler == "euler")
    decoded = decoded_path(view.models["sit"].model, euler)
    np.testing.assert_array_equal(decoded[-1], euler.image)  # the walk ends on the sample shown
    qtbot.waitUntil(lambda: len(panel.cost_view.costs) == 4, timeout=30000)
