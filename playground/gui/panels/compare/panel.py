"""Compare: every shipped generative checkpoint (and any the user adds) measured side by side on
the same seeds with one yardstick, and the seeds' claims checked against the numbers.

Unlike the other panels it has no single model: `families` is empty (the window's picker and
"Open checkpoint…" never send it one) and it keeps its own list of rows, one per checkpoint. All
model work runs in the panel's worker, one job per model (`score_checkpoint` loads, samples and
measures it), so each row fills the moment its model is done. Results are cached by the core,
keyed by the weights' hash, N and the seed: a first job looks the cache up for every row at once
(the cached rows show before any model is run), then the missing rows are measured in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from ....core.checkpoints import CheckpointError, read_meta, resolve_paths
from ....core.compare.claims import check_claims
from ....core.compare.families import ADAPTERS, compared_checkpoints
from ....core.compare.html import write_report
from ....core.compare.report import cached_scores, judge_problem, score_checkpoint
from ....core.serving.remote_views import remote_score
from ...dialogs import open_file
from ...worker import JobContext, ModelWorker
from ...widgets.titled import note_label
from ..base import Panel
from .claims_view import ClaimsView
from .controls import CompareControls
from .scores_table import ModelRow, ScoresTable

LOOKUP = "cache-lookup"


class ComparePanel(Panel):
    title = "Compare"
    families: tuple[str, ...] = ()  # no single model: the panel lists and loads its own
    uses_worker = True
    picker_note = "compares every generative model (Add checkpoint… on the page)"

    def __init__(self, worker: ModelWorker | None, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self.rows: dict[str, ModelRow] = {}
        self.pending: list[str] = []  # keys of the rows still to measure in this run, in order
        self._run_size = 0
        self._build()
        if self.worker is not None:
            self.worker.job_ended.connect(self._on_job_ended)

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 6, 6, 6)
        root.addWidget(note_label(
            "Every generative family, trained on the same shapes, sampled from the same seeds and measured with one "
            "yardstick; below, the seeds' claims about them checked on these numbers. Click a column to sort."))
        self.controls = CompareControls()
        self.primary_button = self.controls.recompute_button  # Ctrl+Enter
        root.addWidget(self.controls)
        splitter = QSplitter(Qt.Orientation.Vertical)
        self.table = ScoresTable()
        self.claims = ClaimsView()
        splitter.addWidget(self.table)
        splitter.addWidget(self.claims)
        splitter.setSizes([400, 180])
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        root.addWidget(splitter, 1)
        self.controls.recompute_button.clicked.connect(lambda: self.refresh(force=True))
        self.controls.stop_button.clicked.connect(self.stop)
        self.controls.add_button.clicked.connect(self._add_dialog)
        self.controls.export_button.clicked.connect(self._export_dialog)
        self.controls.settings_changed.connect(self.refresh)

    # --- the models ----------------------------------------------------------------------------

    def shipped_rows(self) -> list[ModelRow]:
        """Every shipped checkpoint of a family the core can sample, trained on the shapes (one data set,
        one yardstick; as `playground compare` lists them). Listing reads only the JSON files."""
        return [ModelRow(item.path.resolve(), item.name, item.meta.family) for item in compared_checkpoints()]

    def activate(self) -> None:
        """First shown: list the models, show what is cached, measure the rest in the background."""
        added = {k: r for k, r in self.rows.items() if r.added}
        self.rows = {r.key: r for r in self.shipped_rows()}
        self.rows.update({k: r for k, r in added.items() if k not in self.rows})
        self.table.remove_missing(set(self.rows))
        self.refresh()

    def add_checkpoint(self, path: str | Path) -> bool:
        """Put a checkpoint of the user's on the page and measure it; a message if it cannot be compared."""
        try:
            meta = read_meta(path)
            weights = resolve_paths(path)[0].resolve()
        except (CheckpointError, OSError, ValueError) as exc:
            self.report_error(str(exc))
            return False
        if meta.family not in ADAPTERS:
            self.report_error(f"{Path(path).name} holds a {meta.family} model: the Compare page has no sampler for it")
            return False
        if str(weights) not in self.rows:
            row = ModelRow(weights, weights.parent.name, meta.family, added=True)
            self.rows[row.key] = row
            if self.active:
                self._measure([row.key], force=False)
            else:
                self.table.show_row(row)
        return True

    def _add_dialog(self) -> None:
        path = open_file(self, "checkpoint", "Add checkpoint", "Checkpoints (*.safetensors *.json)")
        if path:
            self.add_checkpoint(path)

    # --- measuring -----------------------------------------------------------------------------

    def settings(self) -> tuple[int, int]:
        return self.controls.settings()

    def refresh(self, force: bool = False) -> None:
        """Measure every row at the current N and seed: cached results at once (unless `force`,
        Recompute), the others one model after another. A run under way is dropped."""
        self.controls.taken()
        if self.worker is not None:
            self.worker.cancel()
        self.pending = []
        self._measure(list(self.rows), force)

    def _measure(self, keys: list[str], force: bool) -> None:
        n, seed = self.settings()
        keys = [k for k in keys if k in self.rows and k not in self.pending]
        for key in keys:
            row = self.rows[key]
            row.scores, row.state = None, "waiting"
            self.table.show_row(row)
        self._show_claims()
        if not keys:
            return
        wanted = set(keys)
        keys = [k for k in self.table.keys() if k in wanted]  # measured top to bottom, as the table shows them
        running = bool(self.pending)
        self.pending += keys
        self._run_size = len(self.pending) if not running else self._run_size + len(keys)
        self.controls.set_running(True)
        if force or running:  # behind a run: the job itself takes a cached result (it comes in its turn)
            for key in keys:
                self._queue(self.rows[key], n, seed, force)
            return
        paths = {k: self.rows[k].path for k in keys}
        self.controls.state.setText("looking up cached results…")
        self.submit(lambda ctx: ({k: cached_scores(p, n=n, seed=seed) for k, p in paths.items()}, judge_problem()),
                    channel=LOOKUP, on_result=lambda found: self._cached(*found, n, seed),
                    on_error=self._lookup_failed)

    def _lookup_failed(self, message: str) -> None:
        self.report_error(message)
        self._queue_pending(*self.settings(), force=False)

    def _cached(self, found: dict[str, Any], problem: str | None, n: int, seed: int) -> None:
        """The cached rows shown; the others measured, unless measuring is off or the yardstick is missing."""
        for key, scores in found.items():
            if scores is not None and key in self.rows and key in self.pending:
                self.pending.remove(key)
                self._take(key, scores, "cached")
        measure = self.controls.measure_missing.isChecked()
        if measure and problem is None:
            self._queue_pending(n, seed, force=False)
            return
        if measure and self.pending:
            self.report_error(problem)  # once, not once per model
        for key in self.pending:
            row = self.rows[key]
            row.state = "not measured: " + ("no attribute classifier" if measure else "Recompute measures it")
            self.table.show_row(row)
        self.pending = []
        self._finished()

    def _queue_pending(self, n: int, seed: int, force: bool) -> None:
        if not self.pending:
            self._finished()
            return
        for key in self.pending:
            self._queue(self.rows[key], n, seed, force)

    def _queue(self, row: ModelRow, n: int, seed: int, force: bool) -> None:
        device, path, key = self.device, row.path, row.key

        def work(ctx: JobContext):
            def progress(done, total, *_):
                ctx.progress(done, total)

            ctx.progress(0, n)  # the row says it is being measured before the first batch is done
            return score_checkpoint(path, n=n, seed=seed, progress=progress,
                                    should_stop=lambda: ctx.cancelled, cache=not force, device=device)

        def remote(ctx: JobContext, connection):
            """`work` by the connected model server when it has these weights (gui/remote_worker.py)."""
            ctx.progress(0, n)
            scores = remote_score(connection, path, n, seed, cache=not force, progress=ctx.progress,
                                  stopping=lambda: ctx.cancelled)
            if scores is None:
                ctx.check()
                raise InterruptedError("stopped")
            return scores

        work.remote = remote
        self.submit(work, channel=f"score:{key}", label=f"Compare: {row.name}",
                    on_result=lambda scores: self._measured(key, scores),
                    on_error=lambda message: self._failed(key, message),
                    on_progress=lambda done, total, _: self._progress(key, done, total),
                    cancel_running=True)

    def _progress(self, key: str, done: int, total: int) -> None:
        row = self.rows.get(key)
        if row is None:
            return
        state = f"computing {100 * done // max(total, 1)}%" if done else "computing…"
        if row.state != state:
            row.state = state
            self.table.show_row(row)
        position = self._run_size - len(self.pending) + 1
        self.controls.show_progress(row.name, done, total, position, self._run_size)
        self.controls.state.setText("")

    def _measured(self, key: str, scores: Any) -> None:
        if key in self.pending:
            self.pending.remove(key)
        if key in self.rows:
            self._take(key, scores, "measured")
        if not self.pending:
            self._finished()

    def _failed(self, key: str, message: str) -> None:
        if key in self.pending:
            self.pending.remove(key)
        row = self.rows.get(key)
        if row is not None:
            row.state = "failed"
            self.table.show_row(row)
        self.report_error(message)
        if not self.pending:
            self._finished()

    def _take(self, key: str, scores: Any, state: str) -> None:
        row = self.rows[key]
        row.scores, row.state = scores, state
        self.table.show_row(row)
        self._show_claims()

    def _finished(self) -> None:
        self.controls.set_running(False)
        measured = sum(r.scores is not None for r in self.rows.values())
        n, seed = self.settings()
        self.controls.state.setText(f"{measured} of {len(self.rows)} models measured (N {n}, seed {seed})")

    def stop(self) -> None:
        """Stop measuring: the rows measured so far stay, the others say they were stopped."""
        if self.worker is not None:
            self.worker.cancel()
        self._stopped()

    def _stopped(self) -> None:
        for key in self.pending:
            row = self.rows.get(key)
            if row is not None:
                row.state = "stopped"
                self.table.show_row(row)
        self.pending = []
        self._finished()

    def _on_job_ended(self, _label: str) -> None:
        """The status bar's Cancel (or any cancellation) ended the run: say so in the rows."""
        if self.pending and self.worker is not None and not self.worker.is_busy():
            self._stopped()

    @property
    def running(self) -> bool:
        return bool(self.pending)

    # --- results -----------------------------------------------------------------------------

    def scores(self) -> list[Any]:
        """The measured rows' scores in family order, each family's shipped default first: the claims
        read the first row of each family, whatever order the table is sorted in."""
        rows = sorted((r for r in self.rows.values() if r.scores is not None), key=lambda r: r.order)
        return [r.scores for r in rows]

    def _show_claims(self) -> None:
        self.claims.show_verdicts(check_claims(self.scores()))

    def export(self, path: str | Path) -> Path:
        """Write the page as one self-contained HTML file and the JSON behind it (same name, .json)."""
        scores = self.scores()
        if not scores:
            raise ValueError("nothing measured yet: wait for a row to fill (or press Recompute)")
        html = Path(path).with_suffix(".html")
        write_report(scores, check_claims(scores), html, html.with_suffix(".json"))
        return html

    def _export_dialog(self) -> None:
        self.save_with_dialog("Export HTML", "compare.html", "HTML (*.html)", self.export,
                              note="and the JSON beside it")
