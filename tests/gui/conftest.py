"""GUI fixtures: offscreen Qt, a tiny checkpoint set, and a window that must close cleanly."""

from __future__ import annotations

import gc
import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
import torch

from playground.core.checkpoints import save_checkpoint
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
from playground.core.models.gan import GAN, GANConfig
from playground.core.models.noisy_classifier import NoisyAttributeClassifier, NoisyClassifierConfig
from playground.core.models.text2img import Text2ImgConfig, TextToImageModel
from playground.core.models.dae import DAEConfig
from playground.core.models.vae import VAE, VAEConfig
from playground.core.models.vqvae import VQVAE, VQVAEConfig
from latent_models import save_tiny_latent_checkpoints
from token_models import save_tiny_token_checkpoints


def _tiny_vae(variational: bool) -> tuple[VAE, VAEConfig]:
    torch.manual_seed(0)
    config = VAEConfig(latent_dim=6, channels=(8, 16), variational=variational)
    return VAE(config), config


def _tiny_ddpm() -> tuple[DiffusionModel, DDPMConfig]:
    """A small U-Net with T = 100 (DDPM runs stay short); its zero-initialised output layer gets
    random weights so that the predicted noise is not all zeros."""
    torch.manual_seed(0)
    config = DDPMConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), num_train_timesteps=100)
    model = DiffusionModel(config)
    torch.nn.init.normal_(model.out.weight, std=0.05)
    return model, config


def _tiny_text2img() -> tuple[TextToImageModel, Text2ImgConfig]:
    """The text-conditioned U-Net at the tiny DDPM's size (T = 100), with a small prompt encoder."""
    torch.manual_seed(0)
    config = Text2ImgConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), num_train_timesteps=100,
                            text_dim=16, text_layers=1, cond_dim=16)
    model = TextToImageModel(config)
    torch.nn.init.normal_(model.out.weight, std=0.05)
    return model, config


@pytest.fixture(scope="session")
def tiny_assets(tmp_path_factory) -> "os.PathLike[str]":
    """An assets folder with an untrained tiny VAE, AE and DDPM (fast to load, deterministic)."""
    root = tmp_path_factory.mktemp("assets")
    for family, variational in (("vae", True), ("ae", False)):
        model, config = _tiny_vae(variational)
        usage = [0.9, 0.01, 2.0, 0.5, 0.0, 1.2]
        save_checkpoint(root / f"{family}-tiny" / "model.safetensors", model, config, family, data="shapes",
                        steps=0, extra={"latent_usage": usage})
    dae_config = DAEConfig(latent_dim=6, channels=(8, 16))
    torch.manual_seed(0)
    save_checkpoint(root / "dae-tiny" / "model.safetensors", VAE(dae_config), dae_config, "dae", data="shapes",
                    steps=0, extra={"latent_usage": [0.9, 0.01, 2.0, 0.5, 0.0, 1.2]})
    model, config = _tiny_ddpm()
    save_checkpoint(root / "ddpm-tiny" / "model.safetensors", model, config, "ddpm", data="shapes", steps=0)
    gan_config = GANConfig(latent_dim=8, channels=(4, 8, 8, 16))
    torch.manual_seed(0)
    save_checkpoint(root / "gan-tiny" / "model.safetensors", GAN(gan_config), gan_config, "gan", data="shapes", steps=0)
    model, config = _tiny_text2img()
    save_checkpoint(root / "text2img-tiny" / "model.safetensors", model, config, "text2img", data="shapes", steps=0)
    nc_config = NoisyClassifierConfig(channels=(4, 8, 8), num_train_timesteps=100)
    torch.manual_seed(0)
    save_checkpoint(root / "noisy-classifier-tiny" / "model.safetensors", NoisyAttributeClassifier(nc_config), nc_config,
                    "noisy-classifier", data="shapes", steps=0)
    vq_config = VQVAEConfig(codebook_size=16, code_dim=8, channels=(8, 16))
    torch.manual_seed(0)
    save_checkpoint(root / "vqvae-tiny" / "model.safetensors", VQVAE(vq_config), vq_config, "vqvae", data="shapes", steps=0)
    save_tiny_latent_checkpoints(root)  # autoencoder-kl, ldm, dit and sit
    save_tiny_token_checkpoints(root)  # vqgan, dalle and clip
    return root


@pytest.fixture(autouse=True)
def private_user_folders(tmp_path_factory, monkeypatch):
    """Window settings and the user's data folder (where the Train tab writes runs) in a fresh
    temporary folder per test: no test reads what another left, or touches the real ones."""
    from PySide6.QtCore import QSettings

    root = tmp_path_factory.mktemp("user")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(root / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(root / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))  # e.g. the compare page's cached scores
    return root


@pytest.fixture
def main_window(qtbot, tiny_assets, monkeypatch):
    """The main window on the tiny assets; on teardown it must close and leave no thread behind.

    It opens at 1360x820 whatever the offscreen screen's size (800x800), as the tests were written."""
    from playground.gui.main_window import MainWindow
    from playground.gui.panels.compare.controls import MEASURE_MISSING_KEY
    from playground.gui.panels.latent import LatentPanel
    from playground.gui.window_state import window_settings

    monkeypatch.setenv("PLAYGROUND_ASSETS", str(tiny_assets))
    # The window opens on Compare, which would measure every tiny model in the background of every
    # test: here it shows what is cached and measures nothing (tests/gui/panels/test_compare_panel.py
    # turns measuring on), and the tests start on the Latent tab, as they were written.
    window_settings().setValue(MEASURE_MISSING_KEY, False)
    threads_before = {t.ident for t in threading.enumerate()}
    window = MainWindow(torch.device("cpu"))
    qtbot.addWidget(window)
    window.resize(1360, 820)
    window.show()
    window.show_panel(next(p for p in window.panels if isinstance(p, LatentPanel)))
    yield window
    window.close()
    gc.collect()  # the window's garbage goes here, on the GUI thread (automatic collection is off: gui/collector.py)
    leaked = [t for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()]
    assert not leaked, f"threads left running after close: {leaked}"


@pytest.fixture(scope="module")
def served(tmp_path_factory, tiny_assets):
    """A model server (`playground serve`) over the GUI's tiny assets, so the window's models are the
    server's weight for weight; one per test module (a module may kill its own)."""
    pytest.importorskip("litserve")
    from serving_support import run_server

    with run_server(tmp_path_factory.mktemp("served-gui"), {}, checkpoints=tiny_assets) as server:
        yield server


@pytest.fixture
def link(served):
    """The app's link to that server, connected."""
    from playground.gui.remote_worker import server_link

    link = server_link()
    link.connect_to(served.address)
    yield link
    link.disconnect()
