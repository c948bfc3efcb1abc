"""Prompt tokenizing and the text-conditioned model's pieces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.core.data import to_tensor
from playground.core.data.shapes import PromptError, generate, parse_prompt
from playground.core.models.text2img import Text2ImgConfig, TextToImageModel
from playground.core.data.tokenizer import MAX_TOKENS, PAD, prompts_from_labels, tokenize, tokenize_batch
from playground.core.training.loop import Batch
from playground.core.training.text2img_task import Text2ImgTask

TINY = Text2ImgConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), text_dim=16, text_layers=1, cond_dim=16)


def test_equivalent_spellings_tokenize_the_same():
    assert tokenize("a large red circle at the top left") == tokenize("  Large RED circle top left ")
    assert tokenize("") == [PAD] * MAX_TOKENS
    assert len(tokenize("large red circle at the bottom right")) == MAX_TOKENS


def test_unknown_words_are_refused_with_the_vocabulary():
    with pytest.raises(PromptError, match="'dog'.*vocabulary.*circle"):
        tokenize("a red dog")


def test_training_prompts_drop_attributes_but_never_invent_them():
    labels = np.array([[0, 1, 1, 4]] * 3000)
    prompts = prompts_from_labels(labels, np.random.default_rng(0), keep_probability=0.7)
    kept = np.array([[v is not None for v in p.labels] for p in prompts])
    assert 0.6 < kept.mean() < 0.8
    assert all(p.labels[k] in (None, labels[0, k]) for p in prompts for k in range(4))
    texts = {p.text() for p in prompts}
    assert "green" in texts and "" in texts and "large green circle at the center" in texts
    assert all(parse_prompt(t) == p for t, p in ((p.text(), p) for p in prompts))


def test_empty_prompt_is_the_null_embedding_and_prompts_differ():
    torch.manual_seed(0)
    model = TextToImageModel(TINY).eval()
    emb = model.embed(tokenize_batch(["", "red", "blue circle"]))
    torch.testing.assert_close(emb[0], model.null_embedding)
    assert not torch.allclose(emb[1], emb[2])
    x = torch.randn(3, 3, 32, 32)
    t = torch.tensor([10, 10, 10])
    out = model(x, t, cond=emb)
    assert out.shape == x.shape
    torch.testing.assert_close(model.embed(None, 3), model.null_embedding.expand(3, -1))


def test_a_training_step_reaches_the_prompt_encoder_and_the_null_embedding():
    torch.manual_seed(0)
    task = Text2ImgTask(TINY, seed=0)
    data = generate(32, seed=0)
    batch = Batch(x=to_tensor(data.images), labels=torch.from_numpy(data.labels))
    optimizer = torch.optim.AdamW(task.model.parameters(), lr=1e-3)
    for _ in range(2):  # the U-Net's output conv starts at zero: one step opens the gradient path
        optimizer.zero_grad()
        loss, metrics = task.loss(batch)
        loss.backward()
        optimizer.step()
    assert np.isfinite(metrics["loss"])
    assert task.model.null_embedding.grad is not None and task.model.null_embedding.grad.abs().sum() > 0
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in task.model.prompt_encoder.parameters())



def test_coordinate_channels_reach_the_stem_and_survive_a_checkpoint(tmp_path):
    """Two input channels with each pixel's x and y: how a pooled prompt can place a shape."""
    from playground.core.checkpoints import WEIGHTS_NAME, load_checkpoint, save_checkpoint
    from playground.core.models.unet import _coordinates

    grid = _coordinates(torch.zeros(2, 3, 4, 4))
    assert grid.shape == (2, 2, 4, 4)
    assert grid[0, 0, 0, 0] == -1 and grid[0, 0, 0, -1] == 1  # x runs left to right
    assert grid[0, 1, 0, 0] == -1 and grid[0, 1, -1, 0] == 1  # y runs top to bottom

    config = Text2ImgConfig(**{**TINY.__dict__, "coord_channels": True})
    torch.manual_seed(0)
    model = TextToImageModel(config).eval()
    assert model.stem.in_channels == 5 and TextToImageModel(TINY).stem.in_channels == 3
    save_checkpoint(tmp_path / "m" / WEIGHTS_NAME, model, config, "text2img")
    loaded = load_checkpoint(tmp_path / "m").model.eval()
    assert loaded.config.coord_channels
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([3, 700])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t, cond=loaded.embed(None, 2)), model(x, t, cond=model.embed(None, 2)))


def test_the_layout_map_lets_the_prompt_paint_where_the_shape_goes():
    """The pooled prompt becomes a coarse picture at the U-Net's input: prompts differ pixel by pixel."""
    config = Text2ImgConfig(**{**TINY.__dict__, "coord_channels": True, "layout_channels": 4})
    torch.manual_seed(0)
    model = TextToImageModel(config).eval()
    assert model.stem.in_channels == 3 + 2 + 4
    cond = model.embed(tokenize_batch(["red circle at the top left", "red circle at the bottom right"]))
    x = torch.zeros(2, 3, 32, 32)
    layout = model._layout_map(cond, x)
    assert layout.shape == (2, 4, 32, 32)
    assert not torch.allclose(layout[0], layout[1])
    assert layout[0, :, :4, :4].std() < layout[0].std()  # smooth within an 8x8 cell, varied across cells
    assert model._layout_map(None, x).abs().sum() == 0


def test_bad_layout_settings_are_refused_when_the_model_is_built():
    for changes, message in [({"layout_channels": 4, "layout_size": 0}, "layout_size"),
                             ({"layout_channels": -1}, "layout_channels"),
                             ({"layout_channels": 4, "cond_dim": 0}, "cond_dim")]:
        with pytest.raises(ValueError, match=message):
            TextToImageModel(Text2ImgConfig(**{**TINY.__dict__, **changes}))
    with pytest.raises(ValueError, match="at least 1"):
        Text2ImgTask(TINY, max_noise_weight=0.5)


def test_a_warm_start_carries_the_ddpm_over_and_starts_the_pooled_prompt_at_zero(tmp_path):
    """Every U-Net weight comes from the DDPM; prompts first change the output only through the input map."""
    from playground.core.checkpoints import WEIGHTS_NAME, CheckpointError, save_checkpoint
    from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
    from playground.core.training.warm_start import warm_start_from_unconditional

    unet_fields = {k: v for k, v in TINY.__dict__.items() if k in DDPMConfig.__dataclass_fields__ and k != "cond_dim"}
    ddpm_config = DDPMConfig(**unet_fields)
    torch.manual_seed(1)
    ddpm = DiffusionModel(ddpm_config).eval()
    torch.nn.init.normal_(ddpm.out.weight, std=0.1)  # a trained-looking output layer, not the zero init
    save_checkpoint(tmp_path / "ddpm" / WEIGHTS_NAME, ddpm, ddpm_config, "ddpm")

    model = TextToImageModel(Text2ImgConfig(**{**TINY.__dict__, "coord_channels": True, "layout_channels": 4})).eval()
    start = warm_start_from_unconditional(model, tmp_path / "ddpm")
    assert start.widened == 1 and start.copied > 10 and start.new > 0
    ours, theirs = model.state_dict(), ddpm.state_dict()
    for name, tensor in theirs.items():
        torch.testing.assert_close(ours[name] if name != "stem.weight" else ours[name][:, :3], tensor)
    assert ours["stem.weight"][:, 3:].abs().sum() > 0  # the new channels can carry gradient at once
    cond = model.embed(tokenize_batch(["large red circle at the top left", "blue"]))
    assert model.cond_proj(cond).abs().max() == 0

    wider = TextToImageModel(Text2ImgConfig(**{**TINY.__dict__, "base_channels": 16}))
    with pytest.raises(CheckpointError, match="same U-Net"):
        warm_start_from_unconditional(wider, tmp_path / "ddpm")
    other_schedule = "linear" if TINY.schedule == "cosine" else "cosine"
    with pytest.raises(CheckpointError, match="schedule"):
        warm_start_from_unconditional(TextToImageModel(Text2ImgConfig(**{**TINY.__dict__, "schedule": other_schedule})),
                                      tmp_path / "ddpm")


def test_a_finer_layout_grid_starts_from_a_coarser_checkpoint_drawing_what_it_drew(tmp_path):
    """--init-from a text2img checkpoint: every weight copied, the layout map resampled to the finer grid."""
    import dataclasses

    from playground.core.checkpoints import WEIGHTS_NAME, CheckpointError, save_checkpoint
    from playground.core.training.warm_start import warm_start

    coarse_config = Text2ImgConfig(**{**TINY.__dict__, "coord_channels": True, "layout_channels": 4})
    torch.manual_seed(2)
    coarse = TextToImageModel(coarse_config).eval()
    torch.nn.init.normal_(coarse.out.weight, std=0.1)
    save_checkpoint(tmp_path / "coarse" / WEIGHTS_NAME, coarse, coarse_config, "text2img")

    fine = TextToImageModel(dataclasses.replace(coarse_config, layout_size=16)).eval()
    start = warm_start(fine, tmp_path / "coarse")
    assert start.widened == 2 and start.new == 0  # the layout layer's weight and bias
    cond = coarse.embed(tokenize_batch(["large red circle at the top left", "blue"]))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before, after = coarse._layout_map(cond, x), fine._layout_map(cond, x)
        assert fine.layout.out_features == 4 * 16 * 16
        # the same picture, up to the blur of resampling a bilinear map
        assert (before - after).pow(2).mean() < 0.05 * before.pow(2).mean()
        t = torch.tensor([900, 300])
        eps_fine, eps_coarse = fine(x, t, cond=cond), coarse(x, t, cond=cond)
        assert (eps_fine - eps_coarse).pow(2).mean() < 0.05 * eps_coarse.pow(2).mean()

    other = TextToImageModel(dataclasses.replace(coarse_config, layout_channels=2))
    with pytest.raises(CheckpointError, match="same network"):
        warm_start(other, tmp_path / "coarse")
    save_checkpoint(tmp_path / "fine" / WEIGHTS_NAME, fine, fine.config, "text2img")
    with pytest.raises(CheckpointError, match="only refines"):
        warm_start(coarse, tmp_path / "fine")


def test_the_noisy_step_weighting_is_the_truncated_v_loss():
    """Weight min(1 / alpha-bar_t, max) on each item's eps error: noisy steps count more, clean ones as before."""
    data = generate(8, seed=0)
    batch = Batch(x=to_tensor(data.images), labels=torch.from_numpy(data.labels))
    losses, logged = {}, {}
    for weight in (1.0, 20.0):
        torch.manual_seed(0)
        task = Text2ImgTask(TINY, seed=0, max_noise_weight=weight)
        torch.nn.init.normal_(task.model.out.weight, std=0.05)
        torch.manual_seed(1)  # the same t, noise and prompts for both
        loss, logged[weight] = task.loss(batch)
        losses[weight] = loss.item()
    torch.manual_seed(0)  # the same model and draws again, the loss written out by hand
    task = Text2ImgTask(TINY, seed=0)
    torch.nn.init.normal_(task.model.out.weight, std=0.05)
    torch.manual_seed(1)
    x_t, t, noise = task.noisy_batch(batch.x)
    cond = task.conditions(batch.labels, np.random.default_rng(0))  # the task's own rng, seed 0
    per_item = (task.model(x_t, t, cond=cond) - noise).pow(2).mean(dim=(1, 2, 3))
    weights = (1 / task.schedule.alphas_cumprod[t].float()).clamp(max=20.0)
    torch.testing.assert_close(torch.tensor(losses[1.0]), per_item.mean().detach(), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(torch.tensor(losses[20.0]), (per_item * weights).mean().detach(), rtol=1e-5, atol=1e-7)
    assert logged[20.0]["eps_mse"] == pytest.approx(losses[1.0], rel=1e-5)  # the plain error, logged beside it
