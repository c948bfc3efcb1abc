"""Latent & flow: flow vs diffusion from one seed's noise, the autoencoder-kl by hand, and what
latent space buys (the cost table beside both views).

The picker lists sit, dit and autoencoder-kl checkpoints; the panel opens the shipped sit. The
picked model takes its family's place everywhere: a dit or sit in the comparison (the other
family is the shipped one), its first stage in the Autoencoder view, its row in the cost table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from PySide6.QtWidgets import QHBoxLayout, QTabWidget, QWidget

from ....core.checkpoints import LoadedModel
from ....core.images import save_png
from ....core.latent_diffusion.comparison import sweep_picture, sweep_recipe
from ...worker import ModelWorker
from ..base import Panel
from .autoencoder_view import AutoencoderView
from .cost_view import CostView
from .flow_view import FlowView
from ...widgets.partner_models import PartnerModels

EXPORT_SCALE = 4


class FlowPanel(Panel):
    title = "Latent / flow"
    families = ("sit", "dit", "autoencoder-kl")
    home_families = ("autoencoder-kl",)  # a dit or sit opened from a file goes to the samplers' tabs

    def __init__(self, worker: ModelWorker, device: torch.device, parent: QWidget | None = None):
        super().__init__(worker, device, parent)
        self.partners = PartnerModels(device)  # used by the worker threads only
        # the cost table times networks on a worker of its own: a view never waits for a timing run
        self.timing = ModelWorker(f"{type(self).__name__}-timing", self)
        root = QHBoxLayout(self)
        self.tabs = QTabWidget()
        self.flow_view = FlowView(self)
        self.autoencoder_view = AutoencoderView(self)
        self.tabs.addTab(self.flow_view, "Flow vs diffusion")
        self.tabs.addTab(self.autoencoder_view, "Autoencoder")
        root.addWidget(self.tabs, 3)
        self.cost_view = CostView(self)
        self.primary_button = self.cost_view.measure_button  # Ctrl+Enter
        self.cost_view.setMinimumWidth(300)
        self.cost_view.setMaximumWidth(380)
        root.addWidget(self.cost_view, 1)
        self.tabs_shown.watch(self.flow_view, self.flow_view.request)
        self.tabs_shown.watch(self.autoencoder_view, self.autoencoder_view.activate)
        self.tabs_shown.watch(self.cost_view, self.cost_view.request)  # after the view on screen: it waits its turn
        self.flow_view.export_button.clicked.connect(self._export_dialog)
        self.flow_view.load_button.clicked.connect(self.load_png_dialog)

    def shutdown(self) -> None:
        super().shutdown()
        self.timing.shutdown()

    def on_model(self, loaded: LoadedModel) -> None:
        self.flow_view.on_model()
        self.autoencoder_view.on_model()

    # --- recipes: export and Load PNG ---------------------------------------------------------

    def recipe(self) -> dict[str, Any]:
        view = self.flow_view
        if not view.paths or view.shown_key is None:
            return {}
        seed, steps, prompt, w, spacing = view.shown_key
        return sweep_recipe(view.models, {steps: view.paths}, seed=seed, prompt=prompt, guidance_scale=w,
                            spacing=spacing, scale=EXPORT_SCALE)

    def accepts(self, recipe: dict[str, Any]) -> bool:
        return recipe.get("picture") == "flow-compare"

    def restore(self, recipe: dict[str, Any], source: str = "the recipe") -> str | None:
        steps = recipe.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ValueError(f"{source}: its recipe names no steps")
        view = self.flow_view
        view.seed_field.set_value(int(recipe.get("seed", 0)))
        view.prompt_edit.setText(str(recipe.get("prompt", "")))
        view.w_field.set_value(float(recipe.get("guidance_scale", 3.0)))
        view.spacing_box.blockSignals(True)
        view.spacing_box.setCurrentText(str(recipe.get("spacing", "leading")))
        view.spacing_box.blockSignals(False)
        view.steps_slider.blockSignals(True)
        view.steps_slider.setValue(int(steps[-1]))
        view.steps_slider.blockSignals(False)
        view._show_steps(view.steps_slider.value())
        self.tabs.setCurrentWidget(view)
        view.request()
        return f"showing {steps[-1]} steps" + (f" (of {steps})" if len(steps) > 1 else "")

    def export_png(self, path: str | Path) -> Path:
        recipe = self.recipe()
        if not recipe:
            raise ValueError("nothing to export yet: the comparison is still being computed")
        return save_png(path, sweep_picture({self.flow_view.shown_key[1]: self.flow_view.paths}, EXPORT_SCALE), recipe)

    def _export_dialog(self) -> None:
        self.save_with_dialog("Export PNG", "flow-compare.png", "PNG (*.png)", self.export_png,
                              "recipe in its PNG metadata")
