"""What every panel has: the families it opens, its worker, stale-result guarding, activation
when first shown, and its state as a recipe (what PNG exports carry and "Load PNG…" restores).

A panel subclass builds its widgets (one file per tab or view in its package), submits
model work through `Panel.submit`, and implements:

- `on_model(loaded)`: the model was replaced (reset views, clear caches);
- `activate()`: the panel is on screen with a model: compute what it shows (called once
  after it is first shown and after every model change while shown, never while hidden);
  its tabs (or any part shown by turns) follow the same rule through `self.tabs_shown`
  (a `TabActivation`): a watched tab computes when it is on screen, after the panel's `activate`;
- `recipe() -> dict`: everything that decides the current picture;
- `restore(recipe, source)`: the inverse, for "Load PNG…" (raise ValueError with a message on a
  recipe it cannot take; return a note for the one status message that says it restored).

A panel that runs no model (the Train panel) sets `uses_worker = False` and gets no worker.

Keys (the main window's): Ctrl+Enter calls `run_primary()`, which clicks the `primary()` button
("run": `primary_button`, or the button on screen among those marked with `mark_primary`, e.g.
each sub-tab's own), and Space plays or pauses its `timeline()` (by default the play/pause button
on screen among those marked with `mark_timeline`). File dialogs go through `gui/dialogs.py`.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Callable

import torch
from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtWidgets import QAbstractButton, QFileDialog, QWidget  # noqa: F401 (tests patch base.QFileDialog)

from ...core.checkpoints import LoadedModel
from ...core.provenance import describe_recipe_source, read_png_recipe, recipe_family
from ..dialogs import open_file, save_file
from ..worker import Job, JobContext, ModelWorker


class Panel(QWidget):
    """Base class for a model family's panel (the main window gives each its own ModelWorker,
    so a long diffusion run never delays a VAE slider)."""

    title: str = ""
    families: tuple[str, ...] = ()  # checkpoint families this panel opens; () for none (the Train panel)
    home_families: tuple[str, ...] | None = None  # the families it is the first choice for (None: all of `families`)
    uses_worker = True  # False: the window starts no ModelWorker for it (`worker` is None)
    picker_note = "no model loaded"  # what the model picker says while this panel shows no model
    status_message = Signal(str)
    # the panel asks the window to open (and list) a checkpoint, e.g. one it just trained
    open_requested = Signal(str)
    checkpoint_saved = Signal(str)
    primary_button: QAbstractButton | None = None  # Ctrl+Enter clicks it (see `primary`)

    def __init__(self, worker: ModelWorker | None, device: torch.device, parent: QWidget | None = None):
        super().__init__(parent)
        self.worker = worker
        self.device = device
        self.loaded: LoadedModel | None = None
        self.model_generation = 0  # bumped on every model change: results of older models are dropped
        self._requests = itertools.count(1)
        self._newest: dict[str, int] = {}  # channel -> id of the newest request
        self._active_generation = -1  # the model generation `activate` last ran for
        self._error_shown = False
        self.tabs_shown = TabActivation(self)

    # --- models and activation -------------------------------------------------------------

    def set_model(self, loaded: LoadedModel) -> None:
        """Take a newly loaded model: drop pending results of the old one, reset, re-activate."""
        self.loaded = loaded
        self.model_generation += 1
        if self.worker is not None:
            self.worker.cancel(keep=("load",))
        self._newest.clear()
        self.on_model(loaded)
        self._maybe_activate()

    def on_model(self, loaded: LoadedModel) -> None:
        """Subclass hook: reset the views for a new model (cheap work only)."""

    def activate(self) -> None:
        """Subclass hook: compute what the panel shows (the panel is visible and has a model)."""

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._maybe_activate()

    def _maybe_activate(self) -> None:
        if self.loaded is None and self.families:
            return
        if self.isVisible() and self._active_generation != self.model_generation:
            self._active_generation = self.model_generation
            self.activate()
            self.tabs_shown.activate_shown()

    @property
    def active(self) -> bool:
        """Whether `activate` ran for the current model (the panel is, or was, on screen with it)."""
        return self._active_generation == self.model_generation

    # --- work in the background ----------------------------------------------------------------

    def submit(self, work: Callable[[JobContext], Any], *, channel: str, on_result: Callable[[Any], None],
               on_error: Callable[[str], None] | None = None,
               on_progress: Callable[[int, int, Any], None] | None = None,
               label: str = "", cancel_running: bool = False, keep_stale: bool = False,
               preempt: bool = False, worker: ModelWorker | None = None) -> Job:
        """Run `work` on the panel's worker; its result (and progress) reach `on_result` only if
        it is still current: no newer request on `channel` and the same model. This is the one
        stale-result guard of every panel. `keep_stale` lets a result of an older request on the
        same channel through (not one of an older model). `worker` runs it on another worker the
        panel owns (e.g. a live one for brush strokes) instead of `self.worker`; `preempt`: see
        `ModelWorker.submit`."""
        worker = worker or self.worker
        if worker is None:
            raise RuntimeError(f"the {self.title} panel has no worker (uses_worker = False)")
        request, generation = next(self._requests), self.model_generation
        self._newest[channel] = request

        def current() -> bool:
            return generation == self.model_generation and (keep_stale or self._newest.get(channel) == request)

        def result(value: Any) -> None:
            if current():
                on_result(value)

        def progress(done: int, total: int, payload: Any) -> None:
            if on_progress is not None and current():
                on_progress(done, total, payload)

        def error(message: str) -> None:
            if not current():
                return
            if on_error is not None:
                on_error(message)
            else:
                self.report_error(message)

        return worker.submit(work, channel=channel, label=label, on_result=result, on_error=error,
                             on_progress=progress, cancel_running=cancel_running, preempt=preempt)

    def requested(self, channel: str) -> bool:
        """Whether anything was asked on `channel` since the model was set (its answer may be on its way)."""
        return channel in self._newest

    # --- messages ---------------------------------------------------------------------------

    def report(self, message: str) -> None:
        """A status message; it replaces (and so clears) an error that no longer holds."""
        self._error_shown = False
        self.status_message.emit(message)

    def report_error(self, message: str) -> None:
        self._error_shown = True
        self.status_message.emit(f"Error: {message}")

    def clear_error(self) -> None:
        """Call when the input that caused the last error is fixed: the message must go."""
        if self._error_shown:
            self._error_shown = False
            self.status_message.emit("")

    # --- recipes: PNG export and "Load PNG…" -------------------------------------------------

    def recipe(self) -> dict[str, Any]:
        """Everything that decides the current picture (the model header included)."""
        return {}

    def restore(self, recipe: dict[str, Any], source: str = "the recipe") -> str | None:
        """Put the panel into the state `recipe` describes; ValueError with a message if it cannot.
        `source` names where the recipe came from (the PNG's name). May return a note that "Load PNG…"
        appends to its one status message (e.g. "it was made with another model: …")."""
        raise ValueError(f"the {self.title} panel cannot restore a recipe")

    def accepts(self, recipe: dict[str, Any]) -> bool:
        """Whether `recipe` is one this panel made (by its family; a grid's by its samples' family)."""
        return recipe_family(recipe) in self.families

    def load_png(self, path: str | Path) -> bool:
        """Restore the panel from an exported PNG's recipe; a message (never an exception) when
        the file is not one this panel made. Returns whether it restored."""
        try:
            recipe = read_png_recipe(path)
            if not self.accepts(recipe):
                raise ValueError(f"{Path(path).name} is {describe_recipe_source(recipe)}, "
                                 f"not an image from the {self.title} panel")
            note = self.restore(recipe, Path(path).name)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
            name = Path(path).name
            reason = f"the recipe lacks {exc}" if isinstance(exc, KeyError) else str(exc)
            self.report_error(reason if name in reason else f"{name}: {reason}")
            return False
        self.report(f"Restored the {self.title} panel from {Path(path).name}" + (f"; {note}" if note else ""))
        return True

    def load_png_dialog(self) -> None:
        path = open_file(self, "png", "Load PNG", "PNG (*.png)")
        if path:
            self.load_png(path)

    def save_with_dialog(self, title: str, suggested_name: str, file_filter: str,
                         save: Callable[[str], Path], note: str = "") -> None:
        """Ask where to save, call `save(path)`, and report the result or the error in the status bar."""
        path = save_file(self, "export", title, suggested_name, file_filter)
        if not path:
            return
        try:
            saved = save(path)
        except (OSError, ValueError) as exc:
            self.report_error(str(exc))
            return
        self.report(f"Saved {saved}" + (f" ({note})" if note else ""))

    # --- keys: Ctrl+Enter and Space ----------------------------------------------------------------

    def primary(self) -> QAbstractButton | None:
        """The button Ctrl+Enter clicks now: a button marked with `mark_primary` that is on screen (a
        sub-tab's own run button), else `primary_button` if it is on screen; None if none is."""
        return _shown([*_marked(self, PRIMARY), self.primary_button])

    def run_primary(self) -> None:
        """Ctrl+Enter: click `primary()` if it can be clicked now (a panel whose run depends on more than
        one button may override it, e.g. `self.run_primary = self.generate`)."""
        button = self.primary()
        if button is not None and button.isEnabled():
            button.click()

    def timeline(self) -> ButtonTimeline | None:
        """What Space plays and pauses (an object with `toggle_play()`): the button on screen among
        those marked with `mark_timeline`, or None. A panel may override it."""
        button = _shown(_marked(self, TIMELINE))
        return ButtonTimeline(button) if button is not None else None

    def shutdown(self) -> None:
        """Stop the panel's background work (the main window joins the worker afterwards)."""
        if self.worker is not None:
            self.worker.cancel()


class TabActivation(QObject):
    """The one "compute only when shown" rule for the parts of a panel shown by turns (its tabs):
    a watched part's `activate` runs when it is on screen in an activated panel, once per model
    generation (again after `invalidate(part)`), never while hidden or without a model; its `shown`
    (cheap: e.g. put its state on plots it shares with other tabs) runs every time it comes on screen."""

    def __init__(self, panel: Panel):
        super().__init__(panel)
        self.panel = panel
        self._parts: dict[QWidget, tuple[Callable[[], None] | None, Callable[[], None] | None]] = {}
        self._generation: dict[QWidget, int] = {}  # part -> the model generation its `activate` last ran for

    def watch(self, part: QWidget, activate: Callable[[], None] | None = None,
              shown: Callable[[], None] | None = None) -> None:
        self._parts[part] = (activate, shown)
        part.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Show and watched in self._parts:
            shown = self._parts[watched][1]
            if shown is not None:
                shown()
            self.activate(watched)
        return False

    def activate(self, part: QWidget) -> None:
        """Run `part`'s activate if it is on screen and has not run for this model."""
        activate = self._parts[part][0]
        generation = self.panel.model_generation
        if (activate is None or not self.panel.active or not part.isVisible()
                or self._generation.get(part) == generation):
            return
        self._generation[part] = generation
        activate()

    def activate_shown(self) -> None:
        for part in list(self._parts):
            self.activate(part)

    def invalidate(self, part: QWidget) -> None:
        """What `part` shows is out of date: recompute it now if shown, else when next shown."""
        self._generation.pop(part, None)
        self.activate(part)


PRIMARY, TIMELINE = "primary", "timeline"  # the button properties `mark_primary` and `mark_timeline` set


def mark_primary(*buttons: QAbstractButton) -> None:
    """Ctrl+Enter clicks whichever of these buttons is on screen (each sub-tab's run; the style sheet bolds them)."""
    for button in buttons:
        button.setProperty(PRIMARY, True)


def mark_timeline(*buttons: QAbstractButton) -> None:
    """Space clicks whichever of these play/pause buttons is on screen."""
    for button in buttons:
        button.setProperty(TIMELINE, True)


class ButtonTimeline:
    """A timeline played and paused by one button (the steps scrubber's Play, a generation's Pause)."""

    def __init__(self, button: QAbstractButton):
        self.button = button

    def toggle_play(self) -> bool:
        """Click the button if it can be clicked; whether it was."""
        if not self.button.isEnabled():
            return False
        self.button.click()
        return True


def _marked(panel: QWidget, name: str) -> list[QAbstractButton]:
    return [b for b in panel.findChildren(QAbstractButton) if b.property(name)]


def _shown(buttons: list[QAbstractButton | None]) -> QAbstractButton | None:
    return next((b for b in buttons if b is not None and b.isVisible()), None)
