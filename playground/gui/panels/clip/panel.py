"""CLIP: a contrastive text-image model made visible.

Similarity (a batch of images against their captions, the paper's figure), Zero-shot (an image's
attributes read by prompt templates), Retrieval (a prompt's nearest data-set images) and Map (images
and prompts in one plane). Each tab is its own file and computes when it is first shown for a model
(`tabs_shown`); every model call runs in the panel's worker through `Panel.submit`.

A tab is a QWidget class with `title`, built as `Tab(panel)`, with `on_model()` (reset, cheap) and
`activate()` (compute: called when shown, once per model). The list of tabs is `TAB_CLASSES`.
"""

from __future__ import annotations

from typing import Any, TypeVar

import torch
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from ....core.checkpoints import LoadedModel
from ...worker import ModelWorker
from ..base import Panel, mark_primary
from .map_tab import MapTab
from .retrieval_tab import RetrievalTab
from .similarity_tab import SimilarityTab
from .vqgan_clip_tab import VQGANCLIPTab
from .zero_shot_tab import ZeroShotTab

# ---- the tabs, in order (one line each) -------------------------------------------------------
TAB_CLASSES: list[type[QWidget]] = [
    SimilarityTab,
    ZeroShotTab,
    RetrievalTab,
    MapTab,
    VQGANCLIPTab,
]
# ------------------------------------------------------------------------------------------------

T = TypeVar("T")


class ClipPanel(Panel):
    title = "CLIP"
    families = ("clip",)

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 4, 6, 4)
        self.tabs = QTabWidget()
        self.views: list[QWidget] = [cls(self) for cls in TAB_CLASSES]
        for view in self.views:
            self.tabs.addTab(view, view.title)
            self.tabs_shown.watch(view, view.activate)
            mark_primary(*(getattr(view, n) for n in ("run_button", "search_button", "new_button", "apply_button") if hasattr(view, n)))
        root.addWidget(self.tabs, 1)

    def view(self, cls: type[T]) -> T:
        """The tab of class `cls`."""
        return next(v for v in self.views if isinstance(v, cls))

    def on_model(self, loaded: LoadedModel) -> None:
        for view in self.views:
            view.on_model()

    # --- recipes: "Load PNG…" of `playground clip retrieve|matrix` pictures -------------------

    def restore(self, recipe: dict[str, Any], source: str = "the recipe") -> str | None:
        picture = recipe.get("picture")
        if picture == "clip-retrieval":
            tab = self.view(RetrievalTab)
            tab.prompt.set_text(str(recipe.get("prompt", "")))
            tab.k_box.blockSignals(True)
            tab.k_box.setValue(int(recipe.get("k", 8)))
            tab.k_box.blockSignals(False)
            self.tabs.setCurrentWidget(tab)
            tab.request()
            return None
        if picture == "clip-matrix":
            tab = self.view(SimilarityTab)
            for box, key in ((tab.n_box, "n"), (tab.seed_box, "seed")):
                box.blockSignals(True)
                box.setValue(int(recipe.get(key, box.value())))
                box.blockSignals(False)
            self.tabs.setCurrentWidget(tab)
            tab.request()
            return None
        raise ValueError(f"{source} is a {picture or 'CLIP'} picture; the CLIP panel restores retrievals and matrices")
