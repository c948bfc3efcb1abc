"""GUI fixtures: offscreen Qt, a tiny checkpoint set, and a window that must close cleanly."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import torch

from playground.core.checkpoints import save_checkpoint
from playground.core.models.vae import VAE, VAEConfig


def _tiny_vae(variational: bool) -> tuple[VAE, VAEConfig]:
    torch.manual_seed(0)
    config = VAEConfig(latent_dim=6, channels=(8, 16), variational=variational)
    return VAE(config), config


@pytest.fixture(scope="session")
def tiny_assets(tmp_path_factory) -> "os.PathLike[str]":
    """An assets folder with an untrained tiny VAE and AE (fast to load, deterministic)."""
    root = tmp_path_factory.mktemp("assets")
    for family, variational in (("vae", True), ("ae", False)):
        model, config = _tiny_vae(variational)
        usage = [0.9, 0.01, 2.0, 0.5, 0.0, 1.2]
        save_checkpoint(root / f"{family}-tiny" / "model.safetensors", model, config, family, data="shapes",
                        steps=0, extra={"latent_usage": usage})
    return root


@pytest.fixture
def main_window(qtbot, tiny_assets, monkeypatch):
    """The main window on the tiny assets; on teardown it must close and leave no thread behind."""
    from playground.gui.main_window import MainWindow

    monkeypatch.setenv("PLAYGROUND_ASSETS", str(tiny_assets))
    threads_before = {t.ident for t in threading.enumerate()}
    window = MainWindow(torch.device("cpu"))
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close()
    leaked = [t for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()]
    assert not leaked, f"threads left running after close: {leaked}"
