"""The Token-by-token view's run, on the worker side: one `TokenWriter`, played token by token.

Nothing here touches a widget. A `TokenSession` is only ever used inside the panel's worker
(its jobs run one at a time), and hands the GUI immutable `TokenFrame` snapshots: the tokens,
the decoded image, and the conditional and unconditional log-probabilities of the next cell
and of every written one, so the GUI re-shapes a distribution under new temperature, top-k,
top-p or guidance without asking the model (`core.tokens.sampling`: guided_logits, then
shape_distribution). The play loop reads `LiveControls` (the sliders' newest settings, the
playback delay, pause) between tokens: a pause stops within one token and the job returns
the exact state it left, as its result.

After each frame the loop waits (at most DRAW_WAIT_S) until the GUI says it drew it. A token of
a small transformer is hundreds of small ops whose Python glue holds the GIL; a GUI thread
drawing at the same time waits for the GIL at every call back into Python (pyqtgraph's paint
and bounding-box callbacks), up to the interpreter's switch interval each: the window stalled
for hundreds of ms per frame. Drawing while the worker waits costs the run a millisecond a token.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ....core.data import to_uint8
from ....core.models.dalle import Dalle
from ....core.tokens.sampling import UNWRITTEN, TokenSettings, TokenWriter, entropy_bits, guided_logits, shape_distribution
from ...worker import JobContext

PAUSE_SLICE_S = 0.01  # the playback delay is slept in slices: a pause or stop lands within this
DRAW_WAIT_S = 0.25    # the longest the play loop waits for the GUI to draw a frame


def shaped(cond: np.ndarray, uncond: np.ndarray, settings: TokenSettings) -> tuple[np.ndarray, float]:
    """The distribution (K,) a cell is drawn from under `settings` and its entropy in bits; no model call."""
    guided = guided_logits(torch.from_numpy(cond)[None], torch.from_numpy(uncond)[None], settings.guidance)
    probabilities = shape_distribution(guided, settings)
    return probabilities[0].numpy(), float(entropy_bits(probabilities)[0])


@dataclass(frozen=True)
class TokenFrame:
    """A snapshot of a run for the GUI."""

    run: int                 # which run (a new Generate starts a new one)
    prompt: str
    seed: int
    tokens: np.ndarray       # (N,) int64, -1 where not written yet
    position: int            # the next cell (raster order); N when done
    grid_size: int
    image: np.ndarray        # (H, W, 3) uint8: the written cells decoded (unwritten: the blank background code)
    logprobs: np.ndarray     # (N + 1, 2, K) float32: [cond, uncond] log-probs each cell was drawn from
                             # (row N: none; NaN where not computed); row `position` is the next cell's
    settings: TokenSettings  # the settings the last token was written with
    branches: tuple[tuple[int, int], ...] = ()  # (cell, code) picked by hand, in order

    @property
    def cells(self) -> int:
        return len(self.tokens)

    @property
    def done(self) -> bool:
        return self.position >= self.cells

    def grid(self) -> np.ndarray:
        return self.tokens.reshape(self.grid_size, self.grid_size)

    def has_distribution(self, cell: int) -> bool:
        return 0 <= cell < self.cells and not np.isnan(self.logprobs[cell, 0, 0])

    def distribution(self, cell: int, settings: TokenSettings) -> tuple[np.ndarray, float]:
        """Cell `cell`'s distribution under `settings` (the next cell's, or the one a written cell was drawn from)."""
        return shaped(self.logprobs[cell, 0], self.logprobs[cell, 1], settings)


@dataclass
class LiveControls:
    """What the GUI changes while a run plays (plain attributes: written by the GUI thread, read by the worker)."""

    settings: TokenSettings = field(default_factory=TokenSettings)
    delay_s: float = 0.0
    paused: bool = False
    drawn: threading.Event = field(default_factory=threading.Event)  # the GUI drew the last frame


class TokenSession:
    """One run of the Token-by-token view (used only in the panel's worker)."""

    def __init__(self, model: Dalle):
        self.model = model
        self.writer: TokenWriter | None = None
        self.run = 0
        self.logprobs: np.ndarray | None = None
        self.branches: list[tuple[int, int]] = []
        self.last_settings = TokenSettings()
        self.forced: np.ndarray | None = None  # (N,) codes a replay writes instead of drawing them
        self.connection = None  # a model server's connection: the writer's model runs there

    def _writer(self, prompt: str, settings: TokenSettings, seed: int, prefix: np.ndarray | None):
        if self.connection is not None:
            from ....core.serving.remote_tokens import RemoteTokenWriter

            return RemoteTokenWriter(self.connection, self.model, prompt, settings, seed, prefix)
        head = None if prefix is None else torch.as_tensor(np.asarray(prefix, np.int64)).reshape(1, -1)
        return TokenWriter(self.model, prompt, settings, n=1, seed=seed, prefix=head, live_guidance=True)

    def use(self, connection) -> None:
        """Run the model here (None) or on a model server from now on; a run in progress carries on
        there exactly (a writer is its prompt, seed, settings and the codes written so far). NotServed
        when the server lacks the model."""
        writer, self.connection = self.writer, connection
        if writer is None or getattr(writer, "connection", None) is connection:
            return
        if hasattr(writer, "close"):
            writer.close()
        try:
            self.writer = self._writer(writer.prompt, writer.settings, writer.seed, writer.tokens[0, :writer.position].numpy())
        except Exception:
            self.connection = None
            raise

    def pause_remote(self) -> None:
        """End the server's stream of a remote writer (Stop, pause, a finished run): it stops writing ahead."""
        if hasattr(self.writer, "close"):
            self.writer.close()

    def start(self, prompt: str, settings: TokenSettings, seed: int, prefix: np.ndarray | None = None,
              branches: tuple[tuple[int, int], ...] = ()) -> None:
        """A new run from cell 0 (or after `prefix`, a restored recipe's tokens); PromptError on a bad prompt."""
        self.pause_remote()
        self.writer = self._writer(prompt, settings, seed, prefix)
        self.run += 1
        k = self.model.config.codebook_size
        self.logprobs = np.full((self.writer.cells + 1, 2, k), np.nan, np.float32)
        self.branches = list(branches)
        self.last_settings = settings
        self.forced = None
        self._record_next()

    @property
    def done(self) -> bool:
        return self.writer is None or self.writer.done

    def _record_next(self) -> None:
        """Keep the next cell's [cond, uncond] log-probs (the writer has them cached: no model call)."""
        if self.writer is not None and not self.writer.done:
            row = self.logprobs[self.writer.position]
            row[0] = self.writer.raw_logits(1.0)[0].numpy()
            row[1] = self.writer.raw_logits(0.0)[0].numpy()

    def step(self, settings: TokenSettings, chosen: int | None = None) -> None:
        """Write the next cell (drawn under `settings`, or `chosen`)."""
        self.writer.settings = settings
        self.last_settings = settings
        self.writer.step(None if chosen is None else torch.tensor([chosen]))
        self._record_next()

    def branch(self, cell: int, code: int, settings: TokenSettings) -> None:
        """Keep the cells before `cell`, write `code` there, and continue from there (a new writer, same seed)."""
        self.writer = self.writer.branch(cell, code, settings=settings, live_guidance=True)
        self.forced = None  # a code picked by hand: the model writes on from there
        self.logprobs[cell + 1:] = np.nan
        self.branches = [b for b in self.branches if b[0] < cell] + [(cell, code)]
        self.last_settings = settings
        self._record_next()

    def frame(self) -> TokenFrame:
        writer = self.writer
        image = to_uint8(writer.images())[0]
        return TokenFrame(self.run, writer.prompt, writer.seed, writer.tokens[0].numpy().copy(), writer.position,
                          writer.grid_size, image, self.logprobs.copy(), self.last_settings, tuple(self.branches))


def play(ctx: JobContext, session: TokenSession, live: LiveControls, max_tokens: int | None = None) -> TokenFrame:
    """Write tokens until the grid is full, `max_tokens` are written or the GUI pauses; a frame after each
    (the worker shows the newest), the final one as the result."""
    total = session.writer.cells
    live.drawn.clear()
    ctx.progress(session.writer.position, total, session.frame())
    written = 0
    while not session.done and (max_tokens is None or written < max_tokens):
        if live.paused and max_tokens is None:
            break
        ctx.check()
        forced = session.forced
        session.step(live.settings, None if forced is None else int(forced[session.writer.position]))
        written += 1
        if session.done or (max_tokens is not None and written >= max_tokens):
            break
        live.drawn.clear()
        ctx.progress(session.writer.position, total, session.frame())
        _wait(ctx, live)
    return session.frame()


def _wait(ctx: JobContext, live: LiveControls) -> None:
    """Until the GUI drew the frame (at most DRAW_WAIT_S) and the playback delay passed, in slices;
    a pause or a cancel ends it early."""
    start = time.perf_counter()
    end, drawn_by = start + live.delay_s, start + DRAW_WAIT_S
    while not live.paused:
        ctx.check()
        now = time.perf_counter()
        if not live.drawn.is_set() and now < drawn_by:
            live.drawn.wait(min(PAUSE_SLICE_S, drawn_by - now))
        elif now < end:
            time.sleep(min(PAUSE_SLICE_S, end - now))
        else:
            return


def unwritten_mask(frame: TokenFrame) -> np.ndarray:
    """(g, g) True where no code is written yet."""
    return frame.grid() == UNWRITTEN


def play_job(session: TokenSession, live: LiveControls, start, max_tokens: int | None):
    """The Token-by-token view's job: `start(session)` (or nothing), then `play`. Its remote twin (see
    gui/remote_worker.py) plays the same run with the model on the server, a token streamed at a time;
    when it ends (done, paused, stopped) the server's stream ends too."""
    def run(ctx: JobContext) -> TokenFrame:
        if start is not None:
            start(session)
        return play(ctx, session, live, max_tokens)

    def work(ctx: JobContext) -> TokenFrame:
        session.use(None)
        return run(ctx)

    def remote(ctx: JobContext, connection) -> TokenFrame:
        session.use(connection)
        try:
            return run(ctx)
        finally:
            session.pause_remote()

    work.remote = remote
    return work
