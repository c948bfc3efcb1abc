"""The latent panel with a dae: it works as for an AE (prior draws, sliders), and its Denoise tab
shows the corrupted input, the DAE's and the plain AE's reconstructions with MSEs that follow the
noise and mask sliders."""

from __future__ import annotations

import numpy as np
import pytest

from playground.core.latent.sampling import decode
from playground.gui.panels.latent import LatentPanel


@pytest.fixture
def dae_panel(main_window, qtbot, tiny_assets) -> LatentPanel:
    panel = next(p for p in main_window.panels if isinstance(p, LatentPanel))
    main_window.open_checkpoint(tiny_assets / "dae-tiny" / "model.safetensors")
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.loaded.family == "dae"
                    and panel.current_image is not None, timeout=15000)
    return panel


def _mses(view) -> dict[str, float]:
    return dict(view.result["mse"])


def test_a_dae_draws_from_seeds_and_follows_the_sliders(dae_panel, qtbot):
    panel = dae_panel
    np.testing.assert_array_equal(panel.current_image, decode(panel.loaded.model, panel.z)[0])
    before = panel.current_image.copy()
    panel.sliders.moved.emit(0, 2.5)  # as a drag of the first slider does
    qtbot.waitUntil(lambda: panel.current_image is not None and not np.array_equal(panel.current_image, before),
                    timeout=10000)
    assert "Denoising autoencoder" in panel.note.text()


def test_the_denoise_tab_shows_three_images_and_mses_that_follow_the_sliders(dae_panel, qtbot):
    panel, view = dae_panel, dae_panel.denoise_view
    panel.tabs.setCurrentWidget(panel.denoise_stack)
    assert panel.denoise_stack.currentIndex() == 0  # the view, not the "needs a dae" line
    qtbot.waitUntil(lambda: view.result is not None, timeout=15000)
    for key in ("corrupted", "dae", "ae"):
        assert view.canvases[key].image is not None and view.canvases[key].image.shape == (32, 32, 3)
        assert "MSE" in view.errors[key].text()
    first = _mses(view)
    assert set(first) == {"corrupted", "dae", "ae"}

    view.result = None
    view.noise.set_value(0.8, emit=True)
    qtbot.waitUntil(lambda: view.result is not None, timeout=15000)
    noisier = _mses(view)
    assert noisier["corrupted"] > first["corrupted"]
    assert noisier["dae"] != first["dae"] and noisier["ae"] != first["ae"]
    assert view.errors["corrupted"].text().endswith(f"{noisier['corrupted']:.4f}")

    view.result = None
    view.noise.set_value(0.0)
    view.mask.set_value(0.0, emit=True)
    qtbot.waitUntil(lambda: view.result is not None, timeout=15000)
    assert _mses(view)["corrupted"] == 0.0  # no corruption: the input is the clean image
    np.testing.assert_array_equal(view.canvases["corrupted"].image, view.image)


def test_the_denoise_tab_explains_itself_for_a_vae(main_window, qtbot):
    panel = next(p for p in main_window.panels if isinstance(p, LatentPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    assert panel.loaded.family != "dae"
    assert panel.denoise_stack.currentIndex() == 1
