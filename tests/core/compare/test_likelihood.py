"""Bits per dimension for every family: known answers, the existing bounds reached through one function, reasons."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from gaussian_oracle import GaussianFlowOracle, oracle_image
from latent_models import tiny_latent_model
from token_models import tiny_dalle, tiny_vqvae
from playground.core.assets import assets_dir
from playground.core.checkpoints import load_checkpoint
from playground.core.compare.likelihood import bits_per_dim
from playground.core.data import load_dataset, to_tensor
from playground.core.latent.likelihood import elbo_bits_per_dim
from playground.core.latent_diffusion.likelihood import flow_log_likelihood
from playground.core.models.text2img import Text2ImgConfig, TextToImageModel
from playground.core.tokens.likelihood import DECODER_SIGMA, discretised_gaussian_bits, image_bits_per_dim


def loaded(family: str, model=None, extra=None) -> SimpleNamespace:
    return SimpleNamespace(family=family, model=model.eval() if model is not None else None,
                           meta=SimpleNamespace(extra=extra or {}))


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return load_dataset("shapes", n=3, seed=7).images  # uint8 (N, H, W, 3)


def test_flow_ode_gives_the_log_density_of_gaussian_data():
    """A flow whose velocity is known (the exact field of N(mu, s^2 I), linear in x) has log p = log N(x; mu, s^2)."""
    mu, s = oracle_image(0, 4), 0.3
    x = mu + s * torch.randn((4,) + tuple(mu.shape), generator=torch.Generator().manual_seed(1))
    analytic = torch.distributions.Normal(mu.double(), s).log_prob(x.double()).flatten(1).sum(1)
    flow = GaussianFlowOracle(mu, s)
    heun = flow_log_likelihood(flow, x, steps=50, solver="heun")
    assert torch.allclose(heun, analytic, atol=0.1)  # 48 dimensions, ~-12 nats
    euler = flow_log_likelihood(flow, x, steps=50, solver="euler")
    assert (euler - analytic).abs().max() < 3 * (heun - analytic).abs().max() + 2.0
    assert (euler - analytic).abs().max() > (heun - analytic).abs().max()  # first order vs second
    assert flow_log_likelihood(flow, x, steps=5, should_stop=lambda: True) is None


def test_unigram_token_model_has_the_bits_it_should(images):
    """Equal usage of K codes: every token costs log2 K bits, plus the shared decoder term."""
    vq = tiny_vqvae().eval()
    k = vq.codebook_size
    value, how = bits_per_dim(loaded("vqvae", vq, {"codebook_usage": [5] * k}), images)
    x = to_tensor(images)
    with torch.no_grad():
        decoder = discretised_gaussian_bits(x, vq.decode_indices(vq.encode_indices(x)), DECODER_SIGMA) / 3072
    expected = vq.grid_size ** 2 * math.log2(k) / 3072 + float(decoder.mean())
    assert value == pytest.approx(expected, rel=1e-5)
    assert "unigram" in how and str(DECODER_SIGMA) in how
    assert bits_per_dim(loaded("vqvae", vq), images)[0] is None


def test_vae_and_dalle_are_the_existing_bounds(tiny_checkpoint, images):
    x = to_tensor(images)
    vae = load_checkpoint(tiny_checkpoint)
    value, how = bits_per_dim(vae, images)
    assert value == pytest.approx(float(elbo_bits_per_dim(vae.model, x, samples=4, seed=0).total.mean()), rel=1e-6)
    assert "ELBO" in how and str(DECODER_SIGMA) in how
    dalle = tiny_dalle().eval()
    value, how = bits_per_dim(loaded("dalle", dalle), x)  # floats in [-1, 1] as well as uint8
    assert value == pytest.approx(float(image_bits_per_dim(dalle, x, "").total.mean()), rel=1e-6)
    assert "empty prompt" in how


@pytest.mark.parametrize("family", ["vae", "dalle"])
def test_shipped_models_through_one_function(family):
    path = assets_dir() / f"{family}-shapes"
    if not path.exists():
        pytest.skip(f"{path} is not shipped")
    model = load_checkpoint(path)
    x = to_tensor(load_dataset("shapes", n=4, seed=11).images)
    value, _ = bits_per_dim(model, x)
    if family == "vae":
        expected = elbo_bits_per_dim(model.model, x, samples=4, seed=0).total.mean()
    else:
        expected = image_bits_per_dim(model.model, x, "").total.mean()
    assert value == pytest.approx(float(expected), rel=1e-6)
    assert 0 < value < 16  # the blurry VAE under the sharp shared decoder can cost more than 8 bits (raw bytes)


def test_uint8_layouts_agree(images):
    vq = tiny_vqvae().eval()
    model = loaded("vqvae", vq, {"codebook_usage": list(range(vq.codebook_size))})
    hwc = bits_per_dim(model, images)[0]
    chw = bits_per_dim(model, torch.from_numpy(images).permute(0, 3, 1, 2).contiguous())[0]
    floats = bits_per_dim(model, to_tensor(images))[0]
    assert hwc == chw == pytest.approx(floats, rel=1e-6)


@pytest.mark.parametrize("family", ["ae", "dae", "gan", "clip"])
def test_families_without_a_likelihood_say_why(family, images):
    value, how = bits_per_dim(loaded(family), images)
    assert value is None and how.startswith("none:") and len(how.splitlines()) == 1


def tiny_text2img() -> TextToImageModel:
    torch.manual_seed(0)
    model = TextToImageModel(Text2ImgConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(),
                                            num_train_timesteps=100, text_dim=16, text_layers=1, cond_dim=16))
    torch.nn.init.normal_(model.out.weight, std=0.05)
    return model


@pytest.mark.parametrize("family", ["text2img", "ldm", "dit", "sit"])
def test_diffusion_families_give_a_bound_with_progress_and_stop(family, images):
    model = tiny_text2img() if family == "text2img" else tiny_latent_model(family)
    calls = []
    value, how = bits_per_dim(loaded(family, model), images[:2], progress=lambda done, total: calls.append((done, total)))
    assert value is not None and math.isfinite(value) and value > 0
    assert calls and calls[-1][0] == calls[-1][1]
    assert ("ODE" in how) == (family == "sit") and ("L_vlb" in how) == (family != "sit")
    assert bits_per_dim(loaded(family, model), images[:2], should_stop=lambda: True) == (None, "stopped")


def test_flow_estimate_of_an_image_does_not_depend_on_its_batch():
    """A linear field v = A x with a full A: Hutchinson's estimate depends on the probe, which is the image's own."""
    a = 0.1 * torch.randn((12, 12), generator=torch.Generator().manual_seed(5))
    flow = lambda x, t: (x.flatten(1) @ a.T).reshape(x.shape)  # noqa: E731
    x = torch.randn((3, 3, 2, 2), generator=torch.Generator().manual_seed(4))
    together = flow_log_likelihood(flow, x, steps=4, seed=10)
    alone = flow_log_likelihood(flow, x[2:], steps=4, seed=12)
    other_probe = flow_log_likelihood(flow, x[2:], steps=4, seed=13)
    assert float(alone[0]) == pytest.approx(float(together[2]), rel=1e-5)
    assert float(other_probe[0]) != pytest.approx(float(alone[0]), rel=1e-5)
    # x_1 = exp(A) x_0 exactly, and the probes average to the trace: log p_0 = log N(exp(A) x_0) + tr(A)
    many = flow_log_likelihood(flow, x[:1].expand(400, -1, -1, -1), steps=40, seed=0)
    x1 = torch.linalg.matrix_exp(a.double()) @ x[0].flatten().double()
    analytic = -0.5 * (x1.pow(2).sum() + 12 * math.log(2 * math.pi)) + torch.trace(a.double())
    assert float(many.mean()) == pytest.approx(float(analytic), abs=0.3)  # ~4 standard errors of 400 probes
