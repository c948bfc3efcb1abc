"""Playing a scene: its tab in front, its model open, its recipe restored, then its action.

The scene's model is its shipped checkpoint of the recipe's "model" name, else the
recipe's "checkpoint" file; the player waits for the load (`MainWindow.load_into`) before
it restores. An action's recipes (`core.lessons.action_frames`) go to the panel one per
tick through `Panel.show_frame` (default: `restore`), each once the panel's worker has
drawn the one before, so a sweep on a slow model slows down instead of piling up work.
A "train" action starts the Train panel's demo run. A scene that cannot be drawn (a
model that is not there, a recipe the panel refuses) says so through `message`, and the
lesson goes on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from ...core.assets import shipped_named

FRAME_MS = 120  # an action's frames: about 8 a second when the model keeps up
LOAD_POLL_MS = 50
# pictures a tab restores only in part (a strip's run, a grid's first sample, an attention map's sample):
# a scene of one is drawn by render_recipe, as its caption describes it (tab title -> picture kinds)
RENDERED_PICTURES = {"Diffusion": ("strip", "grid", "forward"), "Text to image": ("attention",), "Latent / flow": ("flow-compare",)}
PATIENCE_TICKS = 50  # a worker busy this long (~6 s) with other work does not hold the action up any longer


def scene_model_path(recipe: dict[str, Any]) -> Path | None:
    """The checkpoint a scene's recipe names: the shipped one of its "model" name, else its "checkpoint" file."""
    name = recipe.get("model")
    shipped = shipped_named(name) if isinstance(name, str) and name else None
    if shipped is not None:
        return shipped.path
    named = recipe.get("checkpoint")
    if isinstance(named, str) and named and Path(named).is_file():
        return Path(named)
    return None


def missing_model_message(recipe: dict[str, Any]) -> str:
    name = recipe.get("model") or recipe.get("checkpoint") or "its model"
    return (f"Model '{name}' is not here, so this scene cannot be drawn: train it or put it in assets/. "
            f"PageDown goes on to the next scene.")


def same_model(loaded, path: Path) -> bool:
    return loaded is not None and Path(loaded.path).resolve() == Path(path).resolve()


class ScenePlayer(QObject):
    """Plays one scene at a time in a MainWindow; `play(scene)` replaces what was playing."""

    message = Signal(str)  # what went wrong, for the caption bar ("" clears it)
    picture = Signal(object)  # a picture drawn by render_recipe for a scene its tab cannot show (None: none)
    progress = Signal(str)  # where the action is, in words ("latent.3 = 1.50")
    ready = Signal()  # the scene's tab shows its settings (the model opened, the recipe restored)
    finished = Signal()  # the scene's action played to its last frame (or it had none)

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.scene = None
        self.panel = None
        self.frames: list[dict] = []
        self.frame_index = -1  # the last frame shown
        self._waited = 0  # ticks the current frame has waited for the worker
        self.paused = False
        self.rendering = False  # the scene's pictures are drawn by render_recipe, not by its tab
        self.playing = False  # the scene is being set up or its action is playing
        self._ticket = 0  # bumped by every play/stop: a timer of an older scene does nothing
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._tick)

    # --- the scene -------------------------------------------------------------------------------

    def play(self, scene) -> None:
        self.stop()
        self.scene, self.playing, self.paused, self.rendering = scene, True, False, False
        self.frames, self.frame_index = [], -1
        self.message.emit("")
        self.picture.emit(None)
        panel = next((p for p in self.window.panels if p.title == scene.tab), None)
        if panel is None:
            titles = ", ".join(p.title for p in self.window.panels)
            return self._fail(f"No tab is called '{scene.tab}' (the tabs: {titles}).")
        self.panel = panel
        self.window.show_panel(panel)
        recipe = dict(scene.recipe or {})
        if not panel.families:  # a tab without models (Train): nothing to open
            return self._restored()
        path = scene_model_path(recipe)
        if path is None:
            return self._fail(missing_model_message(recipe))
        if not same_model(panel.loaded, path):
            self.window.load_into(panel, path)
            self._wait_for_model(path, self._ticket)
            return
        self._restore()

    def stop(self) -> None:
        self._ticket += 1
        self._timer.stop()
        self.playing = False
        if self.scene is not None and _kind(self.scene) == "train":
            stop = getattr(self.panel, "stop", None)
            if callable(stop) and getattr(self.panel, "running", False):
                stop()

    def toggle_pause(self) -> None:
        self.paused = not self.paused

    def _fail(self, text: str) -> None:
        self.playing = False
        self.message.emit(text)
        self.finished.emit()

    def _wait_for_model(self, path: Path, ticket: int, idle: int = 0) -> None:
        """Restore once `path` is the panel's model; give up when its worker has been idle for two
        polls without it (the load failed: the window said why)."""
        if ticket != self._ticket:
            return
        if same_model(self.panel.loaded, path):
            self._restore()
            return
        idle = idle + 1 if self.panel.worker is None or not self.panel.worker.is_busy() else 0
        if idle >= 2:
            self._fail(f"Could not open {path} for this scene (the status bar says why).")
        else:
            QTimer.singleShot(LOAD_POLL_MS, lambda: self._wait_for_model(path, ticket, idle))

    def _restore(self) -> None:
        recipe = self.scene.recipe or {}
        if recipe.get("picture") in RENDERED_PICTURES.get(self.panel.title, ()):
            self.rendering = True
            self._render(dict(recipe))
        elif "picture" in recipe:
            try:
                self._show(dict(recipe))
            except (ValueError, KeyError, TypeError) as exc:  # a picture the tab does not show live: drawn instead
                if self.panel.worker is None:
                    return self._fail(f"This scene's settings do not fit the {self.panel.title} tab: {exc}")
                self.rendering = True
                self._render(dict(recipe))
        self._restored()

    def _restored(self) -> None:
        from ...core.lessons import action_frames

        self.ready.emit()
        if _kind(self.scene) == "train":
            return self._train()
        self.frames = list(action_frames(self.scene))
        self.frame_index = -1
        if not self.frames:
            self.playing = False
            self.finished.emit()
            return
        self._timer.start()

    def _train(self) -> None:
        start = getattr(self.panel, "start_demo", None)
        if not callable(start):
            return self._fail(f"The {self.panel.title} tab has no demo run to start.")
        start(self.scene.action.get("steps"))
        self.playing = False
        self.finished.emit()

    # --- the action's frames -------------------------------------------------------------------------

    def _tick(self) -> None:
        if self.paused:
            return
        if self.panel.worker is not None and self.panel.worker.is_busy() and self._waited < PATIENCE_TICKS:
            self._waited += 1
            return  # the frame before is still being drawn
        self._waited = 0
        self.frame_index += 1
        if self.frame_index >= len(self.frames):
            self._timer.stop()
            self.playing = False
            self.finished.emit()
            return
        frame = dict(self.frames[self.frame_index])
        self.progress.emit(frame_words(self.scene.action, frame, self.frame_index, len(self.frames)))
        try:
            self._render(frame) if self.rendering else self._show(frame)
        except (ValueError, KeyError, TypeError) as exc:
            self._timer.stop()
            self._fail(f"Frame {self.frame_index + 1} of this scene's action does not fit: {exc}")

    def _show(self, recipe: dict) -> None:
        """The scene's recipe, then each frame, through the panel's `show_frame` (a frame of the run it is
        drawing need not start another), else `restore`."""
        show = getattr(self.panel, "show_frame", None)
        show(recipe) if callable(show) else self.panel.restore(recipe, "the lesson")

    def _render(self, recipe: dict) -> None:
        """Draw `recipe` with `render_recipe` in the panel's worker (its model) and show it on the picture stage."""
        from ...core.reproduce import render_recipe

        loaded, device, ticket = self.panel.loaded, self.panel.device, self._ticket

        def work(_ctx):
            return render_recipe(recipe, device, loaded=loaded)[0]

        def done(image) -> None:
            if ticket == self._ticket:
                self.picture.emit(image)
                if self.frame_index < 0:
                    self.progress.emit("")

        def failed(text: str) -> None:
            if ticket == self._ticket:
                self.message.emit(f"This scene's picture could not be drawn: {text}")

        if self.frame_index < 0:
            self.progress.emit("drawing the picture…")
        self.panel.submit(work, channel="presenter-picture", on_result=done, on_error=failed)


def frame_words(action: dict, frame: dict, index: int, count: int) -> str:
    """Where an action is, for the room: the swept value ("latent.3 = 1.50"), else the frame's number."""
    if action.get("kind") == "sweep":
        from ...core.lessons.actions import value_at

        value = value_at(frame, action["key"])
        return f"{action['key']} = {value:.2f}" if isinstance(value, float) else f"{action['key']} = {value}"
    return f"{action.get('kind', 'frame')} {index + 1} / {count}"


def _kind(scene) -> str:
    action = getattr(scene, "action", None)
    return action.get("kind", "") if isinstance(action, dict) else ""
