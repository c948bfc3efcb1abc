""""Nearest training images…" from the VAE and Text-to-image panels: the dialog opens at once (the
search runs in the panel's worker) and fills with 8 training images and their distances."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtWidgets import QPushButton

from playground.core.data import shapes
from playground.core.evaluation import nearest
from playground.core.models.attribute_classifier import AttributeClassifier, AttributeClassifierConfig
from playground.gui.panels.latent import LatentPanel
from playground.gui.panels.text2img.panel import Text2ImgPanel
from playground.gui.widgets.nearest import K, show_nearest


@pytest.fixture
def small_training_set(monkeypatch):
    """A 200-image stand-in for the 19,000-image split (rendering that takes a minute) and a tiny classifier."""
    train = shapes.generate(200, seed=3).images
    torch.manual_seed(0)
    classifier = AttributeClassifier(AttributeClassifierConfig(channels=(4, 8, 8))).eval()
    monkeypatch.setattr(nearest, "training_images", lambda data="shapes": train)
    monkeypatch.setattr(nearest, "_shipped_classifier", lambda: classifier)
    return train


def _button(panel) -> QPushButton:
    return next(b for b in panel.findChildren(QPushButton) if b.text() == "Nearest training images…")


def _filled(dialog, qtbot):
    qtbot.waitUntil(lambda: dialog.result is not None, timeout=20000)
    for by in ("pixels", "features"):
        assert "error" not in dialog.result[by]
        assert sum(not tile.pixmap().isNull() for tile in dialog.tiles[by]) == K
        distances = [float(c.text().split("\n")[1]) for c in dialog.captions[by]]
        assert distances == sorted(distances)
        assert "For reference" in dialog.references[by].text()


def test_the_vae_panel_opens_the_dialog_for_its_image_without_waiting(main_window, qtbot, small_training_set):
    panel = next(p for p in main_window.panels if isinstance(p, LatentPanel))
    qtbot.waitUntil(lambda: panel.current_image is not None, timeout=10000)
    _button(panel).click()
    dialog = panel._nearest_dialog
    assert dialog.isVisible() and dialog.result is None  # shown before the search returns
    _filled(dialog, qtbot)
    found = nearest.nearest_training(panel.current_image, k=K, train=small_training_set)[0]
    assert dialog.result["pixels"]["indices"].tolist() == found.indices.tolist()


def test_a_training_image_shows_itself_first_at_distance_zero(main_window, qtbot, small_training_set):
    panel = next(p for p in main_window.panels if isinstance(p, LatentPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    dialog = show_nearest(panel, small_training_set[42])
    _filled(dialog, qtbot)
    assert dialog.captions["pixels"][0].text().endswith("\n0.0")
    assert np.array_equal(dialog.result["pixels"]["images"][0], small_training_set[42])
    assert "identical" in dialog.status.text()


def test_the_text_to_image_panel_opens_it_for_its_sample(main_window, qtbot, small_training_set):
    panel = next(p for p in main_window.panels if isinstance(p, Text2ImgPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.result is not None, timeout=30000)
    _button(panel).click()
    _filled(panel._nearest_dialog, qtbot)
    np.testing.assert_array_equal(panel._nearest_dialog.result["pixels"]["images"].shape, (K, 32, 32, 3))


def _images(panel):
    from playground.gui.panels.codebook.panel import VQVAEPanel
    from playground.gui.panels.diffusion.panel import DiffusionPanel
    from playground.gui.panels.tokens import TokensPanel

    if isinstance(panel, DiffusionPanel):
        return panel.view.current.final_picture if panel.view.current is not None else None
    if isinstance(panel, TokensPanel):
        frame = panel.token_tab.frame
        return frame.image if frame is not None and frame.done else None
    assert isinstance(panel, VQVAEPanel)
    return panel.current_image


@pytest.mark.parametrize("kind", ["DiffusionPanel", "TokensPanel", "VQVAEPanel"])
def test_the_diffusion_tokens_and_codebook_panels_open_it_too(main_window, qtbot, small_training_set, kind):
    panel = next(p for p in main_window.panels if type(p).__name__ == kind)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=15000)
    main_window.show_panel(panel)
    if kind == "DiffusionPanel":  # it runs on request: a short DDIM run
        panel.controls.sampler_box.setCurrentIndex(panel.controls.sampler_box.findData("ddim"))
        panel.controls.steps.setText("4")
        panel.view.run_button.click()
    qtbot.waitUntil(lambda: _images(panel) is not None, timeout=60000)
    _button(panel).click()
    _filled(panel._nearest_dialog, qtbot)
