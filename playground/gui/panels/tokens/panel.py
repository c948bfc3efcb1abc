"""The Tokens panel: a dalle writing an image token by token over a VQ codebook.

One prompt and one sampling row (temperature, top-k, top-p, guidance w, seed) serve three views:
Token by token (`token_tab.py`: the grid filling cell by cell, the next cell's distribution, a
branch by hand), Likelihood (`likelihood_tab.py`: where the model is surprised by an image) and
Rerank (`rerank_tab.py`: N candidates ordered by CLIP score). Every model call runs in the panel's
worker (the shipped CLIP too, `widgets.partner_models.PartnerModels`); PNG export carries the sample's
tokens, and "Load PNG…" shows them again (`core.tokens.render` draws the same picture).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from ....core.checkpoints import LoadedModel
from ....core.data.shapes import parse_prompt
from ....core.images import save_png, upscale
from ....core.provenance import RecipeFields, checkpoint_differences, picture_recipe
from ....core.tokens import default_settings
from ....core.tokens.render import prompt_from, settings_from
from ....core.tokens.sampling import TokenSettings
from ...worker import ModelWorker
from ..base import Panel, mark_primary, mark_timeline
from ...widgets.nearest import nearest_button
from ...widgets.partner_models import PartnerModels
from ...widgets.prompt import PromptEdit
from .controls import SamplingControls
from .likelihood_tab import LikelihoodTab
from .rerank_tab import RerankTab
from .token_tab import TokenTab

DEFAULT_PROMPT = "a large red circle at the top left"
EXPORT_SCALE = 8
TOKEN_TAB, LIKELIHOOD_TAB, RERANK_TAB = range(3)


class TokensPanel(Panel):
    title = "Tokens"
    families = ("dalle",)

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self.partners = PartnerModels(device)
        root = QVBoxLayout(self)
        root.setContentsMargins(6, 4, 6, 4)
        root.setSpacing(4)
        top = QHBoxLayout()
        self.prompt = PromptEdit("Prompt", "e.g. a large red circle at the top left",
                                 "empty prompt: the unconditional prior (a PixelCNN-style model of token grids)")
        self.prompt.set_text(DEFAULT_PROMPT)
        self.model_label = QLabel("no model")
        self.model_label.setStyleSheet("color: #8fc3ff; padding-left: 8px;")
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("The written image (x8) with its recipe, tokens included, in its metadata")
        self.load_button = QPushButton("Load PNG…")
        self.load_button.setToolTip("Show the tokens, prompt and settings of a dalle PNG again")
        top.addWidget(self.prompt, 1)
        nearest = nearest_button(self, lambda: self.token_tab.frame.image if self.token_tab.frame is not None else None)
        for w in (self.model_label, self.export_button, self.load_button, nearest):
            top.addWidget(w, 0, Qt.AlignmentFlag.AlignTop)
        self.controls = SamplingControls()
        self.tabs = QTabWidget()
        self.token_tab = TokenTab(self)
        self.likelihood_tab = LikelihoodTab(self)
        self.rerank_tab = RerankTab(self)
        self.tabs.addTab(self.token_tab, "Token by token")
        self.tabs.addTab(self.likelihood_tab, "Likelihood")
        self.tabs.addTab(self.rerank_tab, "Rerank")
        root.addLayout(top)
        root.addWidget(self.controls)
        root.addWidget(self.tabs, 1)
        self.tabs_shown.watch(self.token_tab, activate=self.token_tab.activate)
        self.tabs_shown.watch(self.likelihood_tab, activate=self.likelihood_tab.activate)
        self.controls.shape_changed.connect(self.token_tab.settings_changed)
        self.prompt.submitted.connect(self.generate)
        self.prompt.edit.textChanged.connect(lambda _: self._on_prompt_changed())
        self.export_button.clicked.connect(self._export_dialog)
        self.load_button.clicked.connect(self.load_png_dialog)
        self.run_primary = self.generate  # Ctrl+Enter (the window's): the current sub-tab's run; Space: Pause
        mark_primary(self.token_tab.generate_button, self.rerank_tab.run_button), mark_timeline(self.token_tab.pause_button)

    # --- what the widgets say ----------------------------------------------------------------------

    def prompt_text(self) -> str:
        """The prompt typed (PromptError naming an unknown word)."""
        text = self.prompt.text()
        parse_prompt(text)
        return text

    def token_settings(self) -> TokenSettings:
        return self.controls.settings()

    def seed(self) -> int:
        return self.controls.seed_value()

    # --- model --------------------------------------------------------------------------------------

    def on_model(self, loaded: LoadedModel) -> None:
        self.controls.set_codebook_size(loaded.model.config.codebook_size)
        self.token_tab.on_model(loaded)
        self.likelihood_tab.on_model()
        self.rerank_tab.on_model()
        self.controls.apply(default_settings(loaded.meta.extra))
        self.model_label.setText(f"{loaded.name}, {loaded.meta.steps} training steps")

    def generate(self) -> None:
        """Return / Ctrl+Enter: the current tab's run (a new image, the likelihood again, or a rerank)."""
        self.prompt.close_popup()
        index = self.tabs.currentIndex()
        if index == TOKEN_TAB:
            self.token_tab.generate()
        elif index == LIKELIHOOD_TAB:
            self.likelihood_tab.refresh()
        else:
            self.rerank_tab.run()

    def _on_prompt_changed(self) -> None:
        if self.prompt.valid:
            self.clear_error()
            self.likelihood_tab.refresh()

    # --- recipes: export and Load PNG ----------------------------------------------------------------

    def recipe(self) -> dict[str, Any]:
        """The written image's recipe: prompt, settings, seed, its token grid and the cells picked by hand."""
        frame = self.token_tab.frame
        if frame is None or not frame.done:
            written = 0 if frame is None else frame.position
            raise ValueError(f"no finished image to export yet: {written} of "
                             f"{self.loaded.model.config.image_tokens if self.loaded else 64} cells written")
        return picture_recipe(self.loaded, "sample", prompt=frame.prompt, seed=frame.seed, **frame.settings.to_recipe(),
                              tokens=frame.grid().tolist(), branches=[list(b) for b in frame.branches],
                              scale=EXPORT_SCALE)

    def export_png(self, path: str | Path) -> Path:
        recipe = self.recipe()
        return save_png(path, upscale(self.token_tab.frame.image, EXPORT_SCALE), recipe)

    def _export_dialog(self) -> None:
        frame = self.token_tab.frame
        seed = frame.seed if frame is not None else 0
        self.save_with_dialog("Export PNG", f"dalle-seed{seed}.png", "PNG (*.png)", self.export_png,
                              "recipe and tokens in its metadata")

    def accepts(self, recipe: dict[str, Any]) -> bool:
        """One dalle sample (its tokens are in the recipe)."""
        return super().accepts(recipe) and recipe.get("picture") == "sample" and "tokens" in recipe

    def restore(self, recipe: dict[str, Any], source: str = "the recipe") -> str | None:
        if self.loaded is None:
            raise ValueError("no model is loaded yet")
        config = self.loaded.model.config
        fields = RecipeFields(recipe)
        settings, prompt = settings_from(fields), prompt_from(fields)
        g, k = config.grid_size, config.codebook_size
        tokens = fields.int_grid("tokens", (g, g), 0, k - 1).reshape(-1)
        seed = fields.seed("image_seed") if fields.has("image_seed") else fields.seed()  # `sample dalle`'s n-th image
        branches = tuple((int(c), int(code)) for c, code in recipe.get("branches", []) or [])
        notes = checkpoint_differences(recipe, self.loaded)
        if recipe.get("model") not in (None, self.loaded.name):
            notes.append(f"it was made with {recipe['model']}, this shows it with {self.loaded.name}")
        self.prompt.set_text(prompt)
        self.controls.apply(settings, seed)
        self.tabs.setCurrentIndex(TOKEN_TAB)
        self.token_tab.start_from(prompt, settings, seed, np.asarray(tokens, np.int64), branches)
        return "note: " + "; ".join(notes) if notes else None
