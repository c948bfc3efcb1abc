"""Exporting a run: a frame PNG, a strip PNG of chosen steps, a video (MP4 or GIF), each with its recipe.

The recipe is the host's header (`provenance.model_header` and, for a guided run, its
guidance settings) | `Trajectory.recipe()` (sampler, steps, eta, clip_x0, seed, schedule,
branch) | what the picture is:
{"picture": "frame", "step_index", "t", "views", "scale"} or
{"picture": "strip", "strip_step_indices", "strip_t", "views", "scale"}, which
`playground reproduce` renders again. The strip's steps are typed as the window numbers
them (1..N) and checked as they are typed, before any file dialog.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from ....core.diffusion.render import STRIP_SCALE, labelled_strip
from ....core.diffusion.trajectory import Trajectory
from ....core.diffusion import trajectory_pictures
from ....core.diffusion.trajectory_pictures import evenly_spaced_steps, frame_row
from ....core.images import save_png
from ..video_export import VideoSettings, ask_video, export_button
from .fields import message_label, show_problem
from .pictures import STRIP_STEPS, parse_strip_steps
from .runs import stopped_note
from .views import LATENT_SHOWN, PIXEL_SHOWN

if TYPE_CHECKING:
    from ...panels.base import Panel

FRAME_SCALE = 8
STRIP_VIEWS = ("x_t", "pred_x0")
LATENT_STRIP_VIEWS = ("x_t", "pred_x0", "decoded_x0")  # the latent, its predicted clean latent, and its picture


def strip_views(trajectory: Trajectory) -> tuple[str, ...]:
    """The rows of a run's strip and video: x_t and x̂₀, and for a latent run x̂₀ decoded too."""
    return LATENT_STRIP_VIEWS if trajectory.latent else STRIP_VIEWS


VIDEO_SCALE, VIDEO_MAX_FRAMES = 4, 150


def run_recipe(header: dict, trajectory: Trajectory) -> dict:
    """The header, the run's own recipe, and where a stopped run stopped."""
    recipe = header | trajectory.recipe()
    if getattr(trajectory, "backend", "torch") != "torch":
        recipe["backend"] = trajectory.backend  # made with ONNX Runtime: `reproduce` uses it too
    if not trajectory.complete:
        recipe["stopped_at_step"] = trajectory.count  # its steps 1..count are those of the full run
    return recipe


def frame_recipe(header: dict, trajectory: Trajectory, index: int, views: tuple[str, ...],
                 scale: int = FRAME_SCALE) -> dict:
    return run_recipe(header, trajectory) | {"picture": "frame", "step_index": int(index),
                                             "t": int(trajectory.t[index]), "views": list(views), "scale": scale}


def save_frame(path: str | Path, header: dict, trajectory: Trajectory, index: int, views: tuple[str, ...]) -> Path:
    """The views of one step side by side, upscaled, the recipe in the PNG."""
    return save_png(path, frame_row(trajectory, index, views, FRAME_SCALE), frame_recipe(header, trajectory, index, views))


def save_strip(path: str | Path, header: dict, trajectory: Trajectory, steps: list[int]) -> Path:
    """x_t (top) and predicted x0 (bottom) at the chosen step indices, each column labelled."""
    views = strip_views(trajectory)
    picture = labelled_strip(trajectory, steps, views, STRIP_SCALE)
    recipe = run_recipe(header, trajectory) | {
        "picture": "strip", "strip_step_indices": [int(s) for s in steps],
        "strip_t": [int(trajectory.t[s]) for s in steps], "views": list(views), "scale": STRIP_SCALE}
    return save_png(path, picture, recipe)


def save_animation(path: str | Path, header: dict, trajectory: Trajectory, settings: VideoSettings | None = None) -> Path:
    """x_t and predicted x0 over the run (at most 150 steps) as an MP4 or GIF (`path`'s suffix), each frame
    with its step, t, noise level and w, the last held. A model call for a latent run not decoded yet:
    call it where the run was sampled (the panel's worker)."""
    settings = settings or VideoSettings(suffix=Path(path).suffix.lower(), fps=trajectory_pictures.ANIMATION_FPS)
    trajectory.decode_missing()
    recipe = run_recipe(header, trajectory) | {"picture": "animation", "scale": VIDEO_SCALE, "fps": settings.fps}
    return trajectory_pictures.save_animation(path, trajectory, strip_views(trajectory), VIDEO_MAX_FRAMES, VIDEO_SCALE,
                                              overlays=settings.overlays, recipe=recipe, **settings.write_options())


class Exports(QWidget):
    """Save frame / video / strip buttons for the run shown, and the strip's steps, checked as typed.

    `header()` is the host's recipe header, `step()` the step index shown; `panel` asks where to
    save and reports (`Panel.save_with_dialog`, `Panel.report_error`).
    """

    def __init__(self, panel: Panel, header: Callable[[], dict], step: Callable[[], int],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.panel, self.header, self.step = panel, header, step
        self.run: Trajectory | None = None
        self.frame_button = QPushButton("Save frame PNG…")
        self.frame_button.setToolTip("The views of this step side by side, with the recipe in the PNG metadata")
        self.video_button = export_button("x_t and x̂₀ over the whole run as an MP4 or GIF, each frame with its step, "
                                          "t, noise level and w (recipe in its metadata)")
        self.strip_button = QPushButton("Save strip PNG…")
        self.strip_button.setToolTip("x_t and x̂₀ at the steps typed beside it, each column labelled with its step and t")
        self.strip_steps = QLineEdit()
        self.tooltip = "Steps as the scrubber numbers them, separated by commas; empty: evenly spaced"
        self.strip_steps.setToolTip(self.tooltip)
        self.show_noise = QCheckBox("show injected noise z")
        self.message = message_label()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.frame_button, self.video_button, self.strip_button):
            row.addWidget(w)
        row.addWidget(self.strip_steps, 1)
        row.addWidget(self.show_noise)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.message)
        self.frame_button.clicked.connect(lambda: self.dialog("frame"))
        self.video_button.clicked.connect(self.video_dialog)
        self.strip_button.clicked.connect(lambda: self.dialog("strip"))
        self.strip_steps.textChanged.connect(lambda _: self.check())
        self.set_run(None)

    @property
    def count(self) -> int:
        return self.run.count if self.run is not None else 0

    def set_run(self, trajectory: Trajectory | None) -> None:
        """The run the buttons export (None: nothing to export); the strip's steps are checked against it."""
        self.run = trajectory
        n = self.count
        if n:
            example = ", ".join(str(s) for s in sorted({1, max(1, n // 2), n}))
            self.strip_steps.setPlaceholderText(f"strip steps 1..{n}, e.g. {example} (empty: {min(STRIP_STEPS, n)} "
                                                f"evenly spaced){stopped_note(trajectory)}")
        else:
            self.strip_steps.setPlaceholderText("strip steps (after a run)")
        for w in (self.frame_button, self.video_button):
            w.setEnabled(bool(n))
        self.check()

    def steps(self) -> list[int]:
        """The strip's 0-based step indices; ValueError naming the setting and the range."""
        return parse_strip_steps(self.strip_steps.text(), self.count)

    def check(self) -> str:
        """Check the typed steps now: a red box and a message under it, the strip button off."""
        problem = ""
        if self.count:
            try:
                self.steps()
            except ValueError as exc:
                problem = str(exc)
        show_problem(self.strip_steps, self.message, problem, self.tooltip)
        self.strip_button.setEnabled(bool(self.count) and not problem)
        return problem

    def views(self) -> tuple[str, ...]:
        """The views a frame shows, as the screen shows them: the injected noise only when it is shown."""
        shown = LATENT_SHOWN if self.run is not None and self.run.latent else PIXEL_SHOWN
        return shown + (("noise",) if self.show_noise.isChecked() else ())

    def recipe(self) -> dict:
        """The shown step as a frame's recipe (the header alone when there is no run)."""
        if self.run is None:
            return self.header()
        return frame_recipe(self.header(), self.run, self.step(), self.views())

    def frame(self, path: str | Path) -> Path:
        """The shown step's views side by side as a PNG, its recipe (and step) in the metadata."""
        return save_frame(path, self.header(), self._shown(), self.step(), self.views())

    def gif(self, path: str | Path, settings: VideoSettings | None = None) -> Path:
        """x_t and predicted x0 over the run (at most 150 frames), each frame labelled, as a video: MP4 or
        GIF by `path`'s suffix (here, on the calling thread: the button writes it on the panel's worker)."""
        return save_animation(path, self.header(), self._shown(), settings)

    def video_dialog(self) -> None:
        """"Export video…": format, size, fps and overlays, where to save, then written on the worker."""
        if self.run is None:
            self.panel.report_error("nothing to export yet: run the sampler first")
            return
        run, header = self.run, self.header()
        steps = evenly_spaced_steps(run.count, VIDEO_MAX_FRAMES)
        h, w, _ = frame_row(run, 0, strip_views(run), VIDEO_SCALE).shape
        ask_video(self.panel, "the denoising run", f"diffusion-seed{run.seed}", (w, h), len(steps),
                  lambda path, settings, ctx: save_animation(path, header, run, settings),
                  fps=trajectory_pictures.ANIMATION_FPS)

    def strip(self, path: str | Path, steps: list[int] | None = None) -> Path:
        """x_t and predicted x0 at chosen step indices (default: those typed), columns labelled."""
        trajectory = self._shown()
        return save_strip(path, self.header(), trajectory, self.steps() if steps is None else steps)

    def _shown(self) -> Trajectory:
        if self.run is None:
            raise ValueError("nothing to export yet: run the sampler first")
        return self.run

    def dialog(self, kind: str) -> None:
        """Ask where to save, then save; the strip's steps are checked before the dialog opens."""
        if self.run is None:
            self.panel.report_error("nothing to export yet: run the sampler first")
            return
        problem = self.check() if kind == "strip" else ""
        if problem:  # the message is under the box already
            self.panel.report_error(problem)
            return
        seed = self.run.seed
        name, pattern, save = {
            "frame": (f"diffusion-seed{seed}-step{self.step() + 1}.png", "PNG (*.png)", self.frame),
            "strip": (f"diffusion-seed{seed}-strip.png", "PNG (*.png)", self.strip)}[kind]
        self.panel.save_with_dialog("Export", name, pattern, save, "recipe in its metadata")
