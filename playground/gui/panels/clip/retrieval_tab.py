"""Retrieval: type a prompt, get the data-set images CLIP finds nearest it, best first, with their
cosine similarities (✓: the image has every attribute the prompt names).

The pool (1000 shapes images no model trained on) is embedded once per checkpoint in the worker
and kept (the core caches it by the weights' hash); each prompt then costs one text encoding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ....core.clip.retrieval import POOL_SIZE, EmbeddedPool, Retrieval, pool_embeddings, retrieve
from ....core.data.shapes import PromptError, parse_prompt
from ....core.serving.remote_tokens import remote_image_embeddings
from ...widgets.gallery import as_icon_grid
from ...widgets.images import thumbnail_icon
from ...widgets.titled import note_label
from ...widgets.prompt import PromptEdit

if TYPE_CHECKING:
    from .panel import ClipPanel

DEFAULT_PROMPT = "a small red circle"
ICON_PX = 96


class RetrievalTab(QWidget):
    title = "Retrieval"

    def __init__(self, panel: ClipPanel):
        super().__init__()
        self.panel = panel
        self.result: Retrieval | None = None
        self.pool: EmbeddedPool | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.prompt = PromptEdit("Prompt", "e.g. a small red circle",
                                 "empty prompt: the text encoder's class token alone")
        self.prompt.set_text(DEFAULT_PROMPT)
        self.k_box = QSpinBox()
        self.k_box.setRange(1, 32)
        self.k_box.setValue(8)
        self.k_box.setPrefix("top ")
        self.search_button = QPushButton("Search")
        self.search_button.setStyleSheet("QPushButton { font-weight: bold; padding: 4px 18px; }")
        row.addWidget(self.prompt, 1)
        row.addWidget(self.k_box, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.search_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(row)
        self.info = note_label(f"Searches {POOL_SIZE} data-set images (a draw no model trained on).")
        layout.addWidget(self.info)
        self.results = as_icon_grid(QListWidget(), ICON_PX)
        self.results.setGridSize(QSize(ICON_PX + 40, ICON_PX + 44))
        self.results.setWordWrap(True)
        layout.addWidget(self.results, 1)
        self.prompt.submitted.connect(self.request)
        self.search_button.clicked.connect(self.request)
        self.k_box.valueChanged.connect(lambda _: self.request())

    def on_model(self) -> None:
        self.result, self.pool = None, None
        self.results.clear()

    def activate(self) -> None:
        self.request()

    def request(self) -> None:
        """Rank the pool by the prompt in the worker (embedding the pool first, once per checkpoint)."""
        if self.panel.loaded is None:
            return
        try:
            prompt = parse_prompt(self.prompt.text())
        except PromptError as exc:
            self.panel.report_error(str(exc))
            return
        self.prompt.close_popup()
        loaded, k = self.panel.loaded, self.k_box.value()

        def work(ctx, server=None) -> tuple[EmbeddedPool, Retrieval]:  # server: the pool embedded there
            embed = None if server is None else (lambda images: remote_image_embeddings(server, loaded.model, images))
            pool = pool_embeddings(loaded, POOL_SIZE, progress=ctx.progress, embed=embed)
            return pool, retrieve(loaded.model, pool, prompt, k)

        work.remote = work
        label = "" if self.pool is not None else f"Embedding {POOL_SIZE} images"
        self.panel.submit(work, channel="retrieve", on_result=self.show_result, label=label, cancel_running=True)

    def show_result(self, found: tuple[EmbeddedPool, Retrieval]) -> None:
        self.pool, self.result = found
        self.panel.clear_error()
        data = self.pool.data
        self.results.clear()
        for rank, (i, score, fits) in enumerate(zip(self.result.indices, self.result.scores, self.result.matches), 1):
            text = f"#{rank}  {score:.3f} {'✓' if fits else '✗'}"
            item = QListWidgetItem(thumbnail_icon(data.images[i], scale=3), text)
            item.setToolTip(f"{data.describe(i)}\ncosine {score:.4f}")
            item.setData(Qt.ItemDataRole.UserRole, int(i))
            self.results.addItem(item)
        k = len(self.result.indices)
        shown = self.result.prompt or "the empty prompt"
        self.info.setText(f"{int(self.result.matches.sum())} of the top {k} fit “{shown}” "
                          f"(✓: every attribute it names) · {len(data)} data-set images searched, best first")
