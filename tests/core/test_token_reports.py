"""The token families' evaluation reports (eval dalle | clip | vqgan) and the VAE's ELBO in bits/dim,
on tiny untrained models: the right structure, numbers in range, --record-best atomic, formulas checked."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from playground.cli import main
from playground.core.checkpoints import WEIGHTS_NAME, read_meta, save_checkpoint
from playground.core.clip.report import all_label_rows, clip_report, format_clip_report, label_index
from playground.core.codebook.report import held_out_shapes, reconstruction_row, verdict
from playground.core.data import to_tensor
from playground.core.data.shapes import ATTRIBUTES, caption_for, generate, parse_prompt
from playground.core.latent.likelihood import elbo_bits_per_dim, gaussian_kl_nats
from playground.core.models.attribute_classifier import AttributeClassifier, AttributeClassifierConfig
from playground.core.models.vae import VAE, VAEConfig
from playground.core.tokens.likelihood import discretised_gaussian_bits
from playground.core.tokens.report import (
    SettingRow, best_row, evaluate_setting, likelihood_rows, record_default_sampling, settings_grid,
    unconditional_report,
)
from playground.core.tokens.sampling import TokenSettings
from token_models import tiny_clip, tiny_dalle, tiny_vqgan, tiny_vqvae


def tiny_classifier() -> AttributeClassifier:
    torch.manual_seed(0)
    return AttributeClassifier(AttributeClassifierConfig(channels=(4, 8))).eval()


def tiny_vae() -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(latent_dim=4, channels=(4, 8))).eval()


@pytest.fixture(scope="module")
def judged_assets(tmp_path_factory: pytest.TempPathFactory, tiny_token_checkpoints: dict[str, Path]) -> dict[str, Path]:
    """The tiny token checkpoints plus a tiny classifier, vqvae and vae for the commands."""
    root = tmp_path_factory.mktemp("judged")
    folders = dict(tiny_token_checkpoints)
    for name, model, family in (("classifier", tiny_classifier(), "classifier"), ("vqvae", tiny_vqvae(), "vqvae"),
                                ("vae", tiny_vae(), "vae")):
        folders[name] = root / f"{name}-tiny"
        save_checkpoint(folders[name] / WEIGHTS_NAME, model, model.config, family, data="shapes", steps=1)
    return folders


# --- clip ---

def test_label_index_is_the_place_of_each_combination() -> None:
    rows = all_label_rows()
    assert rows.shape == (432, 4) and len({tuple(r) for r in rows}) == 432
    assert (label_index(rows) == np.arange(432)).all()
    assert parse_prompt(caption_for(rows[137])).labels == tuple(int(v) for v in rows[137])


def test_clip_report_structure_and_range() -> None:
    report = clip_report(tiny_clip(), n=40, seed=2027)
    assert set(report.zero_shot) == {*ATTRIBUTES, "all"}
    assert all(0.0 <= v <= 1.0 for v in report.zero_shot.values())
    assert report.zero_shot["all"] <= min(report.zero_shot[a] for a in ATTRIBUTES)
    assert 0.0 <= report.image_to_caption <= 1.0 and 0.0 <= report.caption_to_image <= 1.0
    assert 1 <= report.captions_present <= 40
    text = format_clip_report(report, "tiny")
    assert "| zero-shot read right |" in text and "98%" in text
    assert json.loads(json.dumps(report.to_json()))["n"] == 40


# --- vqgan vs vqvae ---

def test_held_out_shapes_is_the_trainers_validation_split() -> None:
    images, labels = held_out_shapes(7, seed=3, data_size=100)
    batch = generate(100, 3)
    order = np.random.default_rng(3).permutation(100)[:7]
    assert (images == batch.images[order]).all() and (labels == batch.labels[order]).all()
    with pytest.raises(ValueError, match="held out"):
        held_out_shapes(11, seed=3, data_size=100)  # only 10 of 100 are held out


def test_reconstruction_rows_and_verdict() -> None:
    images, labels = held_out_shapes(12, data_size=200)
    classifier = tiny_classifier()
    gan, recon = reconstruction_row("gan", tiny_vqgan(), images, labels, classifier)
    vae, _ = reconstruction_row("vae", tiny_vqvae(), images, labels, classifier)
    assert recon.shape == images.shape and recon.dtype == np.uint8
    for row in (gan, vae):
        assert row.grid == 8 and row.codebook_size == 16 and 1 <= row.codes_used <= 16
        assert row.mse > 0 and row.sharpness_ratio > 0 and 0 <= row.kept <= 1
        assert row.kept <= min(row.kept_per_attribute.values())
    [line] = verdict([gan, vae])  # same grid and codes: compared
    assert "at the same 8x8 grid and 16 codes" in line and ("sharper" in line)


# --- dalle ---

def test_settings_grid_checks_every_setting() -> None:
    grid = settings_grid([1.0, 0.5], [0, 4], [1.0], [1.0, 3.0])
    assert len(grid) == 8 and grid[0] == TokenSettings(1.0, 0, 1.0, 1.0)
    with pytest.raises(ValueError, match="temperature"):
        settings_grid([0.0], [0], [1.0], [1.0])


def test_evaluate_setting_row() -> None:
    model, classifier = tiny_dalle(), tiny_classifier()
    prompts = [caption_for((0, 1, 0, 4)), caption_for((2, 3, 1, 0))]
    row, images = evaluate_setting(model, classifier, prompts, TokenSettings(guidance=2.0, top_k=4), n=2, seed=5)
    assert images.shape == (2, 2, 32, 32, 3) and images.dtype == np.uint8
    assert row.prompts == 2 and row.n == 2 and row.settings["guidance"] == 2.0 and row.settings["top_k"] == 4
    assert 0 <= row.all_correct <= min(row.accuracy.values()) <= 1 and 0 <= row.drawn <= row.clean <= 1
    again, same = evaluate_setting(model, classifier, prompts, TokenSettings(guidance=2.0, top_k=4), n=2, seed=5)
    assert (same == images).all()  # the same seeds: the same samples
    reranked, _ = evaluate_setting(model, classifier, prompts[:1], TokenSettings(), n=1, seed=0, rerank=2,
                                   clip=tiny_clip())
    assert reranked.rerank == 2


def test_all_prompts_in_one_batch_are_the_samples_of_each_prompt_alone() -> None:
    """Sample j of prompt p is the image a run of that prompt alone seeded seed + p n writes (with rerank:
    the one sample_reranked keeps, seeded seed + p n rerank)."""
    from playground.core.data import to_uint8
    from playground.core.tokens.rerank import decode_tokens, sample_reranked
    from playground.core.tokens.report import sample_images
    from playground.core.tokens.sampling import sample_tokens

    model, clip, settings = tiny_dalle(), tiny_clip(), TokenSettings(guidance=2.0)
    prompts = ["red circle", caption_for((1, 2, 1, 3))]
    batched = sample_images(model, prompts, settings, n=2, seed=7)
    alone = to_uint8(decode_tokens(model, sample_tokens(model, prompts[1], settings, 2, 7 + 2)))
    assert (batched[1] == alone).all()
    reranked = sample_images(model, prompts, settings, n=2, seed=7, rerank=3, clip=clip)
    kept = sample_reranked(model, clip, prompts[1], settings, 2, 3, seed=7 + 2 * 3)
    assert (reranked[1] == to_uint8(decode_tokens(model, kept.tokens))).all()


def test_best_row_most_right_then_cleanest_then_first() -> None:
    def row(w: float, right: float, clean: float) -> SettingRow:
        return SettingRow({"temperature": 1.0, "top_k": 0, "top_p": 1.0, "guidance": w}, 1, 1, 1, right, {}, clean,
                          clean, 0.0)

    rows = [row(1, 0.5, 0.9), row(2, 0.8, 0.7), row(3, 0.8, 0.9), row(5, 0.8, 0.9)]
    assert best_row(rows).settings["guidance"] == 3


def test_unconditional_report_counts() -> None:
    report = unconditional_report(tiny_dalle(), tiny_classifier(), 6, seed=1)
    assert report.n == 6 and 0 <= report.clean_fraction <= 1 and 0 <= report.combinations_seen <= 6


def test_record_default_sampling_keeps_every_other_field(tiny_token_checkpoints: dict[str, Path],
                                                         tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "dalle"
    shutil.copytree(tiny_token_checkpoints["dalle"], folder)
    before = json.loads((folder / "model.json").read_text())
    meta = read_meta(folder)
    record_default_sampling(folder, TokenSettings(0.8, 16, 0.9, 3.0), meta)
    after = json.loads((folder / "model.json").read_text())
    assert after["extra"]["default_sampling"] == {"temperature": 0.8, "top_k": 16, "top_p": 0.9, "guidance": 3.0}
    assert {k: v for k, v in after.items() if k != "extra"} == {k: v for k, v in before.items() if k != "extra"}
    assert {k: v for k, v in after["extra"].items() if k != "default_sampling"} == before["extra"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in tiny_token_checkpoints["dalle"].iterdir())
    # a training run saved over it meanwhile: refused, the file untouched
    changed = json.loads((folder / "model.json").read_text())
    changed["steps"] = 99
    (folder / "model.json").write_text(json.dumps(changed))
    with pytest.raises(ValueError, match="changed while it was evaluated"):
        record_default_sampling(folder, TokenSettings(), meta)
    assert json.loads((folder / "model.json").read_text()) == changed


# --- bits per dimension ---

def test_gaussian_kl_known_values() -> None:
    mean = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    logvar = torch.tensor([[0.0, 0.0], [0.0, math.log(4.0)]])
    # 0.5 (mu^2 + var - 1 - log var): [0 + 0.5, 2 + 0.5 (4 - 1 - log 4)]
    expected = torch.tensor([0.5, 2.0 + 0.5 * (3.0 - math.log(4.0))])
    assert torch.allclose(gaussian_kl_nats(mean, logvar), expected)


class _ConstantVAE(VAE):
    """q(z|x) = N(mean, var) fixed, and a decoder that paints one grey whatever z: the bound is known in closed form."""

    def encode(self, x):
        mean = torch.tensor([[1.0, -1.0]]).expand(len(x), -1)
        return mean, torch.zeros_like(mean)

    def decode(self, z):
        return torch.full((len(z), 3, 32, 32), 0.1)


def test_elbo_formula_on_a_known_case() -> None:
    model = _ConstantVAE(VAEConfig(latent_dim=2, channels=(4,)))
    images = to_tensor(generate(3, 0).images)
    elbo = elbo_bits_per_dim(model, images, sigma=0.05, samples=2)
    kl_bits = 0.5 * (1 + 1) / math.log(2) / 3072  # mean^2 / 2 per dimension, in bits per image dimension
    recon = discretised_gaussian_bits(images, torch.full_like(images, 0.1), 0.05) / 3072
    assert torch.allclose(elbo.kl_bits_per_dim, torch.full((3,), kl_bits))
    assert torch.allclose(elbo.reconstruction_bits_per_dim, recon, rtol=1e-5)
    assert torch.allclose(elbo.total, recon + kl_bits, rtol=1e-5)
    assert torch.allclose(elbo.reconstruction_at_mean_bits_per_dim, recon, rtol=1e-5)  # the decoder ignores z


def test_tiny_vae_and_dalle_bits_per_dim_are_finite() -> None:
    images, _ = held_out_shapes(6, data_size=100)
    elbo = elbo_bits_per_dim(tiny_vae(), to_tensor(images), samples=2)
    assert torch.isfinite(elbo.total).all() and (elbo.kl_bits_per_dim >= 0).all()
    rows = likelihood_rows(tiny_dalle(), tiny_vae(), images, ("dalle", "vae"), sigmas=(0.05,), vae_samples=1)
    assert [r.model for r in rows] == ["dalle", "vae"]
    for r in rows:
        # nothing beats a perfect decoder
        assert math.isfinite(r.bits_per_dim) and r.bits_per_dim >= r.decoder_floor > 0
        assert r.bits_per_dim == pytest.approx(sum(r.parts.values()), rel=1e-5)


# --- the commands ---

def test_eval_dalle_command_records_best(judged_assets: dict[str, Path], tmp_path: Path, capsys) -> None:
    import shutil

    folder = tmp_path / "dalle"
    shutil.copytree(judged_assets["dalle"], folder)
    before = json.loads((folder / "model.json").read_text())
    rc = main(["eval", "dalle", "--checkpoint", str(folder), "--classifier", str(judged_assets["classifier"]),
               "--full-prompts", "2", "--n", "1", "--guidances", "1,2", "--rerank", "2", "--clip",
               str(judged_assets["clip"]), "--unconditional", "2", "--likelihood", "4", "--vae",
               str(judged_assets["vae"]), "--sigmas", "0.05", "--record-best", "--out-dir", str(tmp_path / "out")])
    assert rc == 0
    report = json.loads((tmp_path / "out" / "dalle_eval.json").read_text())
    assert len(report["grid"]) == 2 and report["reranked"]["rerank"] == 2 and report["unconditional"]["n"] == 2
    assert [r["model"] for r in report["likelihood"]] == ["dalle", "vae-tiny"]
    recorded = json.loads((folder / "model.json").read_text())["extra"]["default_sampling"]
    assert recorded == {k: report["best"]["settings"][k] for k in ("temperature", "top_k", "top_p", "guidance")}
    assert (folder / "eval.md").read_text() == (tmp_path / "out" / "eval.md").read_text()
    assert "bits / dim" in (folder / "eval.md").read_text()
    after = json.loads((folder / "model.json").read_text())
    assert after["steps"] == before["steps"] and after["config"] == before["config"]


def test_eval_vqgan_and_clip_commands(judged_assets: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    gan, clip = tmp_path / "vqgan", tmp_path / "clip"
    shutil.copytree(judged_assets["vqgan"], gan)
    shutil.copytree(judged_assets["clip"], clip)
    assert main(["eval", "vqgan", "--checkpoint", str(gan), "--compare", str(judged_assets["vqvae"]), "--n", "8",
                 "--classifier", str(judged_assets["classifier"]), "--out-dir", str(tmp_path / "out")]) == 0
    rows = json.loads((tmp_path / "out" / "vqgan_eval.json").read_text())["rows"]
    assert [r["family"] for r in rows] == ["vqgan", "vqvae"] and "all 4 kept" in (gan / "eval.md").read_text()
    assert main(["eval", "clip", "--checkpoint", str(clip), "--n", "12"]) == 0
    assert "zero-shot read right" in (clip / "eval.md").read_text()
    # a bad number is one line, before any model work
    with pytest.raises(SystemExit) as stopped:
        main(["eval", "dalle", "--temperatures", "1,0", "--out-dir", str(tmp_path / "x")])
    assert stopped.value.code != 0 and not (tmp_path / "x").exists()
