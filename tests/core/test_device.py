"""Device choice and seeded noise."""

from __future__ import annotations

import pytest
import torch

from playground.core.device import pick_device, seeded_normal


@pytest.fixture
def no_accelerator(monkeypatch):
    """Pretend this machine has neither CUDA nor MPS (so the tests mean the same everywhere)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def test_cpu_on_request():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("CPU") == torch.device("cpu")


def test_auto_without_accelerator_is_cpu(no_accelerator):
    assert pick_device("auto") == torch.device("cpu")
    assert pick_device(None) == torch.device("cpu")


def test_auto_prefers_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == torch.device("cuda")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_auto_here_is_cpu():
    assert pick_device("auto").type in ("cpu", "mps")


@pytest.mark.parametrize("requested", ["cuda", "cuda:0"])
def test_cuda_asked_for_but_absent_is_a_clear_error(no_accelerator, requested):
    with pytest.raises(ValueError, match="cuda") as info:
        pick_device(requested)
    assert "no CUDA GPU" in str(info.value)


def test_mps_asked_for_but_absent_is_a_clear_error(no_accelerator):
    with pytest.raises(ValueError, match="mps"):
        pick_device("mps")


def test_unknown_device_lists_the_choices():
    with pytest.raises(ValueError) as info:
        pick_device("tpu")
    message = str(info.value)
    assert "'tpu'" in message and "auto" in message and "cpu" in message


def test_seeded_normal_is_reproducible():
    a = seeded_normal((3, 5), seed=42)
    assert a.shape == (3, 5) and a.dtype == torch.float32
    assert torch.equal(a, seeded_normal((3, 5), seed=42))
    assert not torch.equal(a, seeded_normal((3, 5), seed=43))
    assert seeded_normal((3, 5), seed=42, device="cpu").device.type == "cpu"


def test_seeded_normal_leaves_the_global_generator_alone():
    """Drawing a sample's noise must not change what a training run draws next."""
    torch.manual_seed(0)
    expected = torch.rand(4)
    torch.manual_seed(0)
    seeded_normal((100,), seed=7)
    assert torch.equal(torch.rand(4), expected)
