"""Rerank, as DALL-E did: write N candidates for the prompt, order them by CLIP score (the cosine
similarity of image and prompt embeddings; `core.tokens.rerank`), best first, each score under
its image. CLIP is the shipped checkpoint, loaded in the worker beside the dalle; without one the
candidates are shown unranked, and the line above them says why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ....core.data import to_uint8
from ....core.data.shapes import PromptError
from ....core.images import upscale
from ....core.serving.remote_tokens import remote_sample_tokens
from ....core.tokens.rerank import decode_tokens, rerank
from ....core.tokens.sampling import TokenSettings, sample_tokens
from ...twins import remotable
from ...widgets.gallery import as_icon_grid, icon_item
from ...widgets.titled import SUBTITLE_STYLE, note_label

if TYPE_CHECKING:
    from ...widgets.partner_models import PartnerModels
    from .panel import TokensPanel

NOTE = ("<b>Rerank.</b> Write N candidates for the prompt (image i seeded seed + i), then let CLIP score each "
        "against the prompt and show them best first: DALL-E drew 512 and kept the top 32.")
ICON_PX = 128
MAX_CANDIDATES = 32


@dataclass(frozen=True)
class RerankResult:
    prompt: str
    seed: int
    images: np.ndarray          # (N, H, W, 3) uint8, in candidate order
    order: np.ndarray           # (N,) candidate indices, best first (candidate order when unranked)
    scores: np.ndarray | None   # (N,) CLIP scores in candidate order; None when unranked
    message: str                # the one line above the grid


def rerank_candidates(ctx, model, partners: PartnerModels, prompt: str, settings: TokenSettings, n: int,
                      seed: int, server=None) -> RerankResult:
    """Write n candidates (progress per token, Stop within one; on the model server when `server` is a
    connection), then score them with the shipped CLIP."""
    cells = model.config.image_tokens
    if server is not None:
        written = remote_sample_tokens(server, model, prompt, settings, n, seed, progress=ctx.progress,
                                       stopping=lambda: ctx.cancelled)
        ctx.check()
        tokens, decoded = written
    else:
        tokens = sample_tokens(model, prompt, settings, n, seed, progress=lambda e: ctx.progress(e.position + 1, cells),
                               should_stop=lambda: ctx.cancelled)
        ctx.check()
        decoded = decode_tokens(model, tokens)
    images = to_uint8(decoded)
    unranked = np.arange(n)
    if not prompt.strip():
        return RerankResult(prompt, seed, images, unranked, None, "The empty prompt gives CLIP nothing to rank by: "
                                                                   "the candidates are shown unranked.")
    clip = partners.family("clip", None)
    if clip is None:
        return RerankResult(prompt, seed, images, unranked, None,
                            "No clip checkpoint is shipped: the candidates are shown unranked.")
    order, scores = rerank(decoded.to(next(clip.model.parameters()).device), prompt, clip.model)
    return RerankResult(prompt, seed, images, order.numpy(), scores.numpy(),
                        f"Ranked by {clip.name} ({clip.meta.steps} training steps): cosine similarity of image "
                        "and prompt, best first.")


class RerankTab(QWidget):
    ranked = Signal()

    def __init__(self, panel: TokensPanel, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel = panel
        self.result: RerankResult | None = None
        self.running = False
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.addWidget(note_label(NOTE))
        row = QHBoxLayout()
        self.count = QSpinBox()
        self.count.setRange(2, MAX_CANDIDATES)
        self.count.setValue(8)
        self.count.setStyleSheet("font-size: 14pt;")
        self.run_button = QPushButton("Generate and rerank")
        self.run_button.setStyleSheet("QPushButton { font-weight: bold; padding: 6px 14px; }")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        label = QLabel("candidates N")
        label.setStyleSheet("font-size: 13pt; font-weight: bold;")
        for w in (label, self.count, self.run_button, self.stop_button):
            row.addWidget(w)
        self.message = QLabel("Press Generate and rerank: the prompt, settings and seed are the ones above.")
        self.message.setStyleSheet(SUBTITLE_STYLE)
        self.message.setWordWrap(True)
        row.addWidget(self.message, 1)
        root.addLayout(row)
        self.grid = as_icon_grid(QListWidget(), ICON_PX)
        self.grid.setGridSize(QSize(ICON_PX + 24, ICON_PX + 44))
        self.grid.setWordWrap(True)
        font = QFont()
        font.setPointSize(12)
        self.grid.setFont(font)
        root.addWidget(self.grid, 1)
        self.run_button.clicked.connect(self.run)
        self.stop_button.clicked.connect(lambda: self.panel.worker.cancel("rerank"))
        self.panel.worker.job_ended.connect(lambda _label: self._sync())

    def on_model(self) -> None:
        self.result, self.running = None, False
        self.grid.clear()

    def run(self) -> None:
        if self.panel.loaded is None:
            return
        try:
            prompt, settings, seed = self.panel.prompt_text(), self.panel.token_settings(), self.panel.seed()
        except (PromptError, ValueError) as exc:
            self.panel.report_error(str(exc))
            return
        n, model, partners = self.count.value(), self.panel.loaded.model, self.panel.partners
        self.message.setText(f"Writing {n} candidates…")
        self.running = True
        self.panel.submit(remotable(lambda ctx: rerank_candidates(ctx, model, partners, prompt, settings, n, seed),
                                    lambda ctx, server: rerank_candidates(ctx, model, partners, prompt, settings, n,
                                                                          seed, server)),
                          channel="rerank", label=f"Rerank {n} candidates", on_result=self._show,
                          on_progress=lambda done, total, _: self.message.setText(
                              f"Writing {n} candidates: cell {done} of {total}…"),
                          cancel_running=True)
        self._sync()

    def _sync(self) -> None:
        busy = self.panel.worker.is_busy("rerank")
        self.stop_button.setEnabled(busy)
        if not busy and self.running:
            self.running = False
            self.message.setText("Stopped: no candidates ranked.")

    def fitting_icon_px(self, n: int, image_px: int) -> int:
        """The largest whole multiple of the image's size at which n candidates fit the grid's area."""
        width, height = self.grid.viewport().width() - 8, self.grid.viewport().height() - 8
        best = image_px
        for columns in range(1, n + 1):
            rows = -(-n // columns)
            side = min(width // columns - 24, height // rows - 44)
            best = max(best, side - side % image_px)
        return min(best, 8 * image_px)

    def _show(self, result: RerankResult) -> None:
        self.result, self.running = result, False
        self.panel.clear_error()
        self.message.setText(result.message)
        self.grid.clear()
        px = self.fitting_icon_px(len(result.order), result.images.shape[1])
        self.grid.setIconSize(QSize(px, px))
        self.grid.setGridSize(QSize(px + 24, px + 44))
        scale = max(1, px // result.images.shape[1])
        for rank, i in enumerate(result.order):
            caption = f"seed {result.seed + i}" if result.scores is None else f"#{rank + 1}  score {result.scores[i]:.3f}"
            item = icon_item(upscale(result.images[i], scale), int(i), f"candidate {i} (seed {result.seed + i})")
            item.setText(caption)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.grid.addItem(item)
        self._sync()
        self.ranked.emit()


def ordered_scores(result: RerankResult) -> list[float]:
    """The scores in the order shown (for tests and the status line)."""
    return [] if result.scores is None else [float(result.scores[i]) for i in result.order]

