"""VQ-VAE: quantization, gradients, codebook health, token grids and checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from playground.core.checkpoints import load_checkpoint, save_checkpoint
from playground.core.data import load_dataset
from playground.core.models.vqvae import VectorQuantizer, VQVAE, VQVAEConfig, vqvae_loss
from playground.core.codebook.analysis import (
    code_vectors, codebook_atlas, codebook_usage, decode_tokens, encode_tokens, encode_tokens_progressive,
    nearest_codes, perplexity, sample_unigram_tokens, top_items_for_code,
)
from playground.core.training.loop import TrainConfig, Trainer
from playground.core.training.vqvae_task import VQVAETask

TINY = VQVAEConfig(codebook_size=16, code_dim=8, channels=(8, 16))


def tiny_model(seed: int = 0) -> VQVAE:
    torch.manual_seed(seed)
    return VQVAE(TINY).eval()


def test_quantization_picks_the_nearest_code():
    torch.manual_seed(0)
    vq = VectorQuantizer(codebook_size=10, code_dim=4)
    z = torch.randn(2, 4, 3, 3)
    out = vq(z)
    flat = z.permute(0, 2, 3, 1).reshape(-1, 4)
    brute = torch.cdist(flat, vq.codebook).argmin(dim=1).reshape(2, 3, 3)
    assert torch.equal(out.indices, brute)
    assert torch.allclose(out.z_q, vq.codebook[brute].permute(0, 3, 1, 2), atol=1e-6)
    # A vector sitting exactly on a code maps to that code.
    on_codes = vq.codebook[[3, 7]].reshape(2, 4, 1, 1)
    assert vq(on_codes).indices.flatten().tolist() == [3, 7]


def test_commitment_loss_is_distance_to_the_chosen_code():
    torch.manual_seed(1)
    vq = VectorQuantizer(codebook_size=6, code_dim=3)
    z = torch.randn(1, 3, 2, 2)
    out = vq(z)
    chosen = vq.codebook[out.indices].permute(0, 3, 1, 2)
    assert torch.isclose(out.commitment_loss, (z - chosen).pow(2).mean())


def test_straight_through_gradient_reaches_the_encoder():
    model = tiny_model().train()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    loss, _, _, _ = vqvae_loss(model, x)
    loss.backward()
    for name in ("encoder.stem.weight", "to_code.weight", "decoder.head.weight"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    # The reconstruction term alone (no commitment) must also reach the encoder: that is the estimator.
    model.zero_grad()
    recon, _, _ = model(x)
    (recon - x).pow(2).mean().backward()
    assert model.encoder.stem.weight.grad.abs().sum() > 0


def test_codebook_is_buffers_not_parameters():
    model = tiny_model()
    names = {n for n, _ in model.named_parameters()}
    assert not any(n.startswith("quantizer.") for n in names)
    assert {"quantizer.codebook", "quantizer.ema_cluster_size", "quantizer.ema_embed_sum"} <= set(model.state_dict())


def test_ema_update_moves_used_codes_to_the_mean_of_their_vectors():
    vq = VectorQuantizer(codebook_size=2, code_dim=2, decay=0.0, dead_code_threshold=0.0)
    vq.codebook.copy_(torch.tensor([[0.0, 0.0], [10.0, 10.0]]))
    z = torch.tensor([[1.0, 1.0], [3.0, 1.0], [9.0, 9.0]]).reshape(1, 3, 1, 2).permute(0, 3, 1, 2)
    out = vq(z)
    vq.update_codebook(z, out.indices)
    assert torch.allclose(vq.codebook, torch.tensor([[2.0, 1.0], [9.0, 9.0]]), atol=1e-3)


def test_dead_codes_restart_on_encoder_outputs():
    vq = VectorQuantizer(codebook_size=4, code_dim=2, decay=0.5, dead_code_threshold=1.0)
    vq.codebook.copy_(torch.tensor([[0.0, 0.0], [100.0, 100.0], [-100.0, 100.0], [100.0, -100.0]]))
    z = torch.randn(1, 2, 4, 4) * 0.1
    out = vq(z)
    assert out.indices.unique().tolist() == [0]
    restarted = vq.update_codebook(z, out.indices)
    assert restarted == 3
    flat = z.permute(0, 2, 3, 1).reshape(-1, 2)
    for code in vq.codebook[1:]:
        assert (flat - code).abs().sum(1).min() < 1e-6  # each restarted code sits on a batch vector


def test_tiny_training_keeps_more_than_half_the_codes(tmp_path):
    data = load_dataset("shapes", n=600, seed=0)
    config = VQVAEConfig(codebook_size=32, code_dim=8, channels=(8, 16))
    task = VQVAETask(config)
    trainer = Trainer(
        task, data, TrainConfig(steps=40, batch_size=32, lr=3e-3, warmup_steps=5, checkpoint_every=1000,
                                validation_size=100),
        tmp_path / "run",
    )
    path = trainer.run(progress=False)
    loaded = load_checkpoint(path)
    assert loaded.meta.metrics["codes_used"] > config.codebook_size / 2
    assert 1.0 < loaded.meta.metrics["perplexity"] <= config.codebook_size
    assert loaded.meta.metrics["val_mse"] < 0.2
    assert sum(loaded.meta.extra["codebook_usage"]) == len(trainer.validation.x) * config.grid_size**2


def test_checkpoint_round_trips_the_ema_codebook_statistics(tmp_path):
    model = tiny_model()
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    z_e = model.encode(x)
    model.quantizer.update_codebook(z_e, model.quantizer(z_e).indices)
    save_checkpoint(tmp_path / "vq" / "model.safetensors", model, TINY, "vqvae")
    loaded = load_checkpoint(tmp_path / "vq")
    assert isinstance(loaded.model, VQVAE)
    for name in ("codebook", "ema_cluster_size", "ema_embed_sum"):
        assert torch.equal(getattr(loaded.model.quantizer, name), getattr(model.quantizer, name)), name
    assert loaded.model.quantizer.ema_cluster_size.sum() > 0


def test_token_grid_encode_decode_round_trips():
    model = tiny_model()
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, TINY.codebook_size, (3, TINY.grid_size, TINY.grid_size))
    images = decode_tokens(model, tokens)
    assert images.shape == (3, 32, 32, 3) and images.dtype == np.uint8 and images.flags.c_contiguous
    # Decoding one grid gives the picture the batch gave it (not the same bits: see tests/tolerance.py),
    # and the decoder input is exactly the codes named by the grid.
    from tolerance import assert_same_picture

    assert_same_picture(decode_tokens(model, tokens[1]), images[1:2])
    vectors = code_vectors(model, tokens)
    assert np.allclose(vectors, model.quantizer.codebook.numpy()[tokens].transpose(0, 3, 1, 2))
    # Quantizing those code vectors gives the grid back (encode side of the round trip).
    assert torch.equal(model.quantizer(torch.from_numpy(vectors)).indices, torch.from_numpy(tokens))
    # And encoding an image, decoding its tokens and encoding again is stable on a trained-free model.
    data = load_dataset("shapes", n=4, seed=0)
    grids = encode_tokens(model, data.images)
    assert grids.shape == (4, TINY.grid_size, TINY.grid_size) and grids.dtype == np.int64
    steps = list(encode_tokens_progressive(model, data.images, batch_size=3))
    assert [done for done, _ in steps] == [3, 4] and np.array_equal(np.concatenate([b for _, b in steps]), grids)
    assert np.array_equal(decode_tokens(model, grids), decode_tokens(model, grids.copy()))


def test_changing_one_cell_changes_exactly_that_cell_of_the_decoder_input():
    model = tiny_model()
    tokens = np.zeros((TINY.grid_size, TINY.grid_size), np.int64)
    edited = tokens.copy()
    edited[2, 5] = 7
    before, after = code_vectors(model, tokens)[0], code_vectors(model, edited)[0]
    changed = np.argwhere(np.abs(after - before).sum(axis=0) > 0)
    assert changed.tolist() == [[2, 5]]
    assert not np.array_equal(decode_tokens(model, tokens), decode_tokens(model, edited))


def test_decode_rejects_bad_grids():
    model = tiny_model()
    with pytest.raises(ValueError, match="token grids must be"):
        decode_tokens(model, np.zeros((5, 5), np.int64))
    with pytest.raises(ValueError, match="must lie in"):
        decode_tokens(model, np.full((TINY.grid_size, TINY.grid_size), TINY.codebook_size))


def test_usage_perplexity_top_items_and_nearest_codes():
    tokens = np.array([[[0, 0], [0, 1]], [[1, 1], [1, 1]], [[2, 0], [2, 2]]])
    counts = codebook_usage(tokens, 4)
    assert counts.tolist() == [4, 5, 3, 0]
    assert perplexity(np.array([5, 5, 5, 5])) == pytest.approx(4.0)
    assert perplexity(np.array([9, 0, 0])) == pytest.approx(1.0)
    items, cells = top_items_for_code(tokens, 1, k=5)
    assert items.tolist() == [1, 0] and cells.tolist() == [4, 1]
    assert top_items_for_code(tokens, 3)[0].size == 0

    model = tiny_model()
    with torch.no_grad():
        model.quantizer.codebook.zero_()
        model.quantizer.codebook[:, 0] = torch.arange(TINY.codebook_size, dtype=torch.float32)
    codes, distances = nearest_codes(model, 5, k=3)
    assert codes.tolist() == [4, 6, 3] and distances.tolist() == [1.0, 1.0, 2.0]


def test_atlas_has_one_tile_per_code_and_unigram_samples_follow_usage():
    model = tiny_model()
    atlas = codebook_atlas(model)
    assert atlas.shape == (TINY.codebook_size, 32, 32, 3) and atlas.dtype == np.uint8
    fill = np.full((TINY.grid_size, TINY.grid_size), 3)
    from tolerance import assert_same_picture  # the atlas decodes all codes in one batch

    assert_same_picture(atlas[3], decode_tokens(model, fill)[0])
    centred = codebook_atlas(model, background=0)
    assert np.array_equal(centred[0], atlas[0])
    grids = sample_unigram_tokens(np.array([0, 1, 0, 0]), n=2, grid_size=4, seed=0)
    assert grids.shape == (2, 4, 4) and (grids == 1).all()


def test_shipped_checkpoint_loads_with_a_live_codebook():
    from playground.core.assets import default_checkpoint

    try:
        path = default_checkpoint("vqvae")
    except ValueError:
        pytest.skip("no shipped vqvae checkpoint")
    loaded = load_checkpoint(path)
    model = loaded.model
    assert model.grid_size == 8 and loaded.meta.metrics["codes_used"] >= 0.9 * model.codebook_size
    assert loaded.meta.metrics["val_mse"] < 0.005
    assert model.quantizer.ema_cluster_size.min() > 0  # the EMA statistics came back with the weights
    image = decode_tokens(model, np.zeros((8, 8), np.int64))
    assert image.shape == (1, 32, 32, 3)


def test_similarity_order_keeps_clusters_of_codes_together():
    from playground.core.codebook.analysis import codebook_vectors, similarity_order

    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, (4, 6))
    cluster = rng.permutation(np.repeat(np.arange(4), 5))
    codebook = centres[cluster] + rng.normal(0, 0.1, (20, 6))
    order = similarity_order(codebook)
    assert sorted(order.tolist()) == list(range(20))
    runs = 1 + int((np.diff(cluster[order]) != 0).sum())
    assert runs == 4, "each cluster comes out as one run"
    model = tiny_model()
    vectors = codebook_vectors(model)
    assert vectors.shape == (TINY.codebook_size, TINY.code_dim)
    assert sorted(similarity_order(vectors).tolist()) == list(range(TINY.codebook_size))


def test_decoding_accepts_a_read_only_grid():
    """The GUI hands over its editor's read-only grid; decoding must copy, not warn or write."""
    import warnings

    model = tiny_model()
    grid = np.zeros((TINY.grid_size, TINY.grid_size), np.int64)
    grid.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert decode_tokens(model, grid).shape == (1, 32, 32, 3)
