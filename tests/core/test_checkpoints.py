"""Checkpoints: weights (.safetensors) + JSON round trip, and every way a file can be bad."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from playground.core.checkpoints import (
    WEIGHTS_NAME, CheckpointError, load_checkpoint, read_meta, save_checkpoint,
)
from playground.core.models.vae import VAE, VAEConfig


@pytest.fixture
def checkpoint(tmp_path: Path, tiny_checkpoint: Path) -> Path:
    """A private copy of the tiny checkpoint folder that a test may damage."""
    folder = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, folder)
    return folder


def weights(folder: Path) -> Path:
    return folder / WEIGHTS_NAME


def sidecar(folder: Path) -> Path:
    return folder / "model.json"


def edit_json(folder: Path, change) -> None:
    raw = json.loads(sidecar(folder).read_text())
    change(raw)
    sidecar(folder).write_text(json.dumps(raw))


def load_error(path: Path) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    return str(info.value)


# --- round trip ----------------------------------------------------------------------------


def test_round_trip_gives_identical_model_and_metadata(tmp_path: Path, tiny_vae_config: VAEConfig):
    torch.manual_seed(1)
    model = VAE(tiny_vae_config).eval()
    path = save_checkpoint(
        tmp_path / "run" / WEIGHTS_NAME, model, tiny_vae_config, "vae", data="shapes", steps=123,
        metrics={"val_mse": 0.25}, command="playground train vae --steps 123",
    )
    assert path == tmp_path / "run" / WEIGHTS_NAME
    loaded = load_checkpoint(path)
    assert loaded.config == tiny_vae_config
    assert loaded.family == "vae"
    assert loaded.name == "run"
    assert not loaded.model.training
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    z = torch.randn(3, 4)
    with torch.no_grad():
        for a, b in zip(model(x), loaded.model(x)):
            assert torch.equal(a, b)
        assert torch.equal(model.decode(z), loaded.model.decode(z))

    raw = json.loads((tmp_path / "run" / "model.json").read_text())
    assert raw["family"] == "vae"
    assert raw["config"] == {"latent_dim": 4, "channels": [8, 16], "image_size": 32, "beta": 1.0, "variational": True}
    assert raw["data"] == "shapes"
    assert raw["steps"] == 123
    assert raw["metrics"] == {"val_mse": 0.25}
    assert raw["command"] == "playground train vae --steps 123"
    assert not list((tmp_path / "run").glob("*.tmp")), "temporary files left behind"


def test_save_overwrites_an_existing_checkpoint(checkpoint: Path, tiny_vae_config: VAEConfig):
    torch.manual_seed(2)
    model = VAE(tiny_vae_config)
    save_checkpoint(checkpoint, model, tiny_vae_config, "vae", steps=99)
    loaded = load_checkpoint(checkpoint)
    assert loaded.meta.steps == 99
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[name], tensor), name


@pytest.mark.parametrize("form", ["folder", "safetensors", "json"])
def test_a_checkpoint_loads_from_folder_weights_or_json_path(tiny_checkpoint: Path, form: str):
    path = {
        "folder": tiny_checkpoint,
        "safetensors": weights(tiny_checkpoint),
        "json": sidecar(tiny_checkpoint),
    }[form]
    loaded = load_checkpoint(path)
    assert loaded.path == weights(tiny_checkpoint)
    assert loaded.meta.steps == 7
    assert loaded.name == "tiny-vae"
    assert read_meta(path).family == "vae"


def test_a_named_checkpoint_file_pair(tmp_path: Path, tiny_vae_config: VAEConfig):
    save_checkpoint(tmp_path / "best.safetensors", VAE(tiny_vae_config), tiny_vae_config, "vae")
    assert (tmp_path / "best.json").exists()
    assert load_checkpoint(tmp_path / "best.json").name == "best"


def test_ae_checkpoint_keeps_its_family(tmp_path: Path):
    config = VAEConfig(latent_dim=3, channels=(8,), variational=False)
    save_checkpoint(tmp_path, VAE(config), config, "ae")
    loaded = load_checkpoint(tmp_path)
    assert loaded.family == "ae" and loaded.config.variational is False


# --- bad checkpoints: each names the file and the problem ----------------------------------


def test_missing_weights(checkpoint: Path):
    weights(checkpoint).unlink()
    message = load_error(checkpoint)
    assert str(weights(checkpoint)) in message and "not found" in message


def test_missing_json(checkpoint: Path):
    sidecar(checkpoint).unlink()
    message = load_error(checkpoint)
    assert str(sidecar(checkpoint)) in message and "not found" in message


def test_missing_folder(tmp_path: Path):
    message = load_error(tmp_path / "no-such-run")
    assert str(tmp_path / "no-such-run") in message


def test_wrong_kind_of_path(tmp_path: Path):
    path = tmp_path / "weights.pt"
    path.write_bytes(b"whatever")
    message = load_error(path)
    assert str(path) in message and ".safetensors" in message


def test_random_bytes_instead_of_safetensors(checkpoint: Path):
    weights(checkpoint).write_bytes(torch.randint(0, 256, (4096,), dtype=torch.uint8).numpy().tobytes())
    message = load_error(checkpoint)
    assert str(weights(checkpoint)) in message and "corrupt" in message


def test_truncated_safetensors(checkpoint: Path):
    data = weights(checkpoint).read_bytes()
    weights(checkpoint).write_bytes(data[: len(data) // 2])
    message = load_error(checkpoint)
    assert str(weights(checkpoint)) in message and "corrupt" in message


def test_empty_safetensors(checkpoint: Path):
    weights(checkpoint).write_bytes(b"")
    message = load_error(checkpoint)
    assert str(weights(checkpoint)) in message and "corrupt" in message


def test_invalid_json(checkpoint: Path):
    sidecar(checkpoint).write_text('{"format": "playground-checkpoint", "family": ')
    message = load_error(checkpoint)
    assert str(sidecar(checkpoint)) in message and "not valid JSON" in message


def test_json_of_another_format(checkpoint: Path):
    # e.g. a diffusers config.json copied beside the weights
    sidecar(checkpoint).write_text(json.dumps({"_class_name": "UNet2DModel", "sample_size": 32}))
    message = load_error(checkpoint)
    assert str(sidecar(checkpoint)) in message and "not a playground checkpoint" in message


def test_json_that_is_not_an_object(checkpoint: Path):
    sidecar(checkpoint).write_text("[1, 2, 3]")
    message = load_error(checkpoint)
    assert str(sidecar(checkpoint)) in message and "not a playground checkpoint" in message


def test_unsupported_format_version(checkpoint: Path):
    edit_json(checkpoint, lambda raw: raw.update(version=99))
    message = load_error(checkpoint)
    assert str(sidecar(checkpoint)) in message and "version 99" in message


def test_json_without_config(checkpoint: Path):
    edit_json(checkpoint, lambda raw: raw.pop("config"))
    message = load_error(checkpoint)
    assert str(sidecar(checkpoint)) in message and "config" in message


def test_unknown_family(checkpoint: Path):
    edit_json(checkpoint, lambda raw: raw.update(family="os.system"))
    message = load_error(checkpoint)
    assert str(sidecar(checkpoint)) in message
    assert "unknown model family 'os.system'" in message
    assert "vae" in message  # lists the known families


def test_config_with_unknown_field(checkpoint: Path):
    edit_json(checkpoint, lambda raw: raw["config"].update(depth=3))
    message = load_error(checkpoint)
    assert str(sidecar(checkpoint)) in message and "unknown fields ['depth']" in message


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("latent_dim", "4", "must be int"),
        ("latent_dim", 4.0, "must be int"),
        ("latent_dim", True, "must be int"),
        ("variational", 1, "must be bool"),
        ("beta", "high", "must be float"),
        ("channels", 8, "must be a list"),
    ],
)
def test_config_field_of_the_wrong_type(checkpoint: Path, field: str, value, words: str):
    edit_json(checkpoint, lambda raw: raw["config"].update({field: value}))
    message = load_error(checkpoint)
    assert str(sidecar(checkpoint)) in message and field in message and words in message


def test_config_that_cannot_build_the_model(checkpoint: Path):
    edit_json(checkpoint, lambda raw: raw["config"].update(channels=[]))
    message = load_error(checkpoint)
    assert str(sidecar(checkpoint)) in message


def test_weights_that_do_not_match_the_config(checkpoint: Path):
    edit_json(checkpoint, lambda raw: raw["config"].update(latent_dim=5))
    message = load_error(checkpoint)
    assert str(weights(checkpoint)) in message
    assert "do not match the config" in message and "shape mismatch" in message


def test_weights_of_another_architecture(checkpoint: Path):
    edit_json(checkpoint, lambda raw: raw["config"].update(channels=[8, 16, 32]))
    message = load_error(checkpoint)
    assert str(weights(checkpoint)) in message and "do not match the config" in message


def test_damaged_checkpoint_errors_are_value_errors():
    """The CLI reports ValueErrors as one line with exit code 2."""
    assert issubclass(CheckpointError, ValueError)


# --- loading never runs code from a file ---------------------------------------------------


class _CreatesMarker:
    """Unpickling this calls open(marker, "w"): proof that a loader unpickled it."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_the_marker_payload_really_runs_when_unpickled(tmp_path: Path):
    """Control for the test below: unpickling the payload does create its marker."""
    marker = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(_CreatesMarker(marker))).close()
    assert marker.exists()


def test_a_pickle_renamed_to_safetensors_is_refused_without_running(checkpoint: Path, tmp_path: Path):
    marker = tmp_path / "pwned"
    weights(checkpoint).write_bytes(pickle.dumps(_CreatesMarker(marker)))
    message = load_error(checkpoint)
    assert str(weights(checkpoint)) in message
    assert not marker.exists()


def test_a_torch_save_file_renamed_to_safetensors_is_refused_without_running(checkpoint: Path, tmp_path: Path):
    marker = tmp_path / "pwned-by-torch-save"
    torch.save({"encoder.weight": _CreatesMarker(marker)}, weights(checkpoint))
    message = load_error(checkpoint)
    assert str(weights(checkpoint)) in message
    assert not marker.exists()
