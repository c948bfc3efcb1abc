"""The token and CLIP families on a real `playground serve` (127.0.0.1): the codebook's decodes and
encodes, CLIP's similarity matrix and zero-shot reading, each what the app computes itself."""

from __future__ import annotations

import numpy as np
import torch
import pytest

from playground.core.clip.classify import read_attributes
from playground.core.clip.matrix import caption_matrix
from playground.core.codebook.analysis import decode_tokens, encode_tokens
from playground.core.data import load_dataset
from playground.core.serving.client import Connection
from playground.core.serving.remote import NotServed
from playground.core.serving.remote_tokens import (remote_caption_matrix, remote_decode_tokens, remote_encode_tokens,
                                                   remote_read_attributes)
from serving_support import connect, opened, run_server
from token_models import tiny_vqgan
from tolerance import assert_same_picture

pytest.importorskip("litserve")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from token_models import save_tiny_token_checkpoints

    root = tmp_path_factory.mktemp("served-tokens")
    folders = save_tiny_token_checkpoints(root / "tokens")
    with run_server(root, folders, checkpoints=root / "tokens") as server:
        yield server


@pytest.fixture(scope="module")
def connection(served) -> Connection:
    return connect(served)


def test_the_server_lists_the_token_jobs(connection):
    assert {"vq_decode", "vq_encode", "clip_matrix", "clip_zero_shot"} <= set(connection.info["jobs"])


def test_token_grids_decode_and_images_encode_as_here(served, connection):
    model = opened(served, "vqgan")
    grids = np.random.default_rng(0).integers(0, model.codebook_size, (3, model.grid_size, model.grid_size))
    remote = remote_decode_tokens(connection, model, grids)
    assert remote.shape == decode_tokens(model, grids).shape and remote.dtype == np.uint8
    assert_same_picture(remote, decode_tokens(model, grids))  # one computation, another process
    assert_same_picture(remote_decode_tokens(connection, model, grids[0]), decode_tokens(model, grids[0]))
    images = load_dataset("shapes", n=4, seed=3, size=model.config.image_size).images
    tokens, recon = remote_encode_tokens(connection, model, images, decode=True)
    local = encode_tokens(model, images)
    assert tokens.shape == local.shape and (tokens == local).mean() > 0.95  # nearest codes: ties may flip
    assert_same_picture(recon, decode_tokens(model, tokens))


def test_clip_matrix_and_zero_shot_are_the_local_ones(served, connection):
    model = opened(served, "clip")
    remote, local = remote_caption_matrix(connection, model, 4, 2), caption_matrix(model, 4, 2)
    assert remote.captions == local.captions and np.array_equal(remote.images, local.images)
    np.testing.assert_allclose(remote.similarity, local.similarity, atol=1e-4)
    assert remote.scale == pytest.approx(local.scale)
    images = local.images[:3]
    readings, here = remote_read_attributes(connection, model, images), read_attributes(model, images)
    assert len(readings) == 3 and [list(r) for r in readings] == [list(r) for r in here]
    for r, h in zip(readings, here):
        for attribute in h:
            np.testing.assert_allclose(r[attribute].probabilities, h[attribute].probabilities, atol=1e-4)
            assert r[attribute].value == h[attribute].value or np.ptp(np.sort(h[attribute].probabilities)[-2:]) < 1e-3


def test_a_model_the_server_lacks_runs_here(connection):
    with pytest.raises(NotServed):
        remote_decode_tokens(connection, tiny_vqgan(), np.zeros((1, 8, 8), np.int64))


def test_a_bad_grid_is_one_line_from_the_server(served, connection):
    model = opened(served, "vqgan")
    with pytest.raises(Exception, match="token indices must lie"):
        remote_decode_tokens(connection, model, np.full((1, model.grid_size, model.grid_size), 10_000))


def test_a_token_run_streams_from_the_server_as_the_local_writer_writes(served, connection):
    from playground.core.serving.remote_tokens import RemoteTokenWriter
    from playground.core.tokens.sampling import TokenSettings, TokenWriter

    model = opened(served, "dalle")
    settings, hotter = TokenSettings(temperature=1.0), TokenSettings(temperature=1.5, top_k=20, guidance=2.0)
    local = TokenWriter(model, "red circle", settings, n=1, seed=7, live_guidance=True)
    remote = RemoteTokenWriter(connection, model, "red circle", settings, 7)
    np.testing.assert_allclose(remote.raw_logits(2.0), local.raw_logits(2.0), atol=1e-4)
    def resumed(writer: TokenWriter) -> TokenWriter:
        """The local run picked up from the codes written so far, as the server's new stream is: the same
        computation (a prefix read at once, not one token at a time), so the tokens may be compared exactly."""
        return TokenWriter(model, "red circle", writer.settings, n=1, seed=7, live_guidance=True,
                           prefix=writer.tokens[:, :writer.position])

    for i in range(model.config.image_tokens):
        if i == 20:  # the sliders moved mid-run: a new stream from the codes written so far
            local.settings = remote.settings = hotter
            local = resumed(local)
        if i == 30:
            local = resumed(local)
            local.step(torch.tensor([5]))
            remote.step(torch.tensor([5]))  # a chosen code: a new stream too
        else:
            local.step()
            remote.step()
        assert remote.position == local.position
    assert remote.done and torch.equal(remote.tokens, local.tokens)
    np.testing.assert_allclose(remote.images().numpy(), local.images().numpy(), atol=1e-4)
    branch, here = remote.branch(10, 3), local.branch(10, 3, live_guidance=True)
    assert branch.position == here.position == 11
    branch.step(), here.step()
    assert torch.equal(branch.tokens, here.tokens)
    branch.close()


def test_rerank_candidates_and_a_likelihood_come_from_the_server_as_here(served, connection):
    from playground.core.data import to_tensor
    from playground.core.serving.remote_tokens import remote_sample_tokens, remote_token_nll
    from playground.core.tokens.likelihood import token_nll
    from playground.core.tokens.rerank import decode_tokens as decode_dalle
    from playground.core.tokens.sampling import TokenSettings, sample_tokens

    model, settings = opened(served, "dalle"), TokenSettings(temperature=0.9, top_k=30)
    seen = []
    tokens, decoded = remote_sample_tokens(connection, model, "blue square", settings, 3, 11,
                                           progress=lambda done, total: seen.append((done, total)))
    cells = model.config.image_tokens
    assert seen == [(i + 1, cells) for i in range(cells)]  # a message per token
    assert torch.equal(tokens, sample_tokens(model, "blue square", settings, 3, 11))
    with torch.inference_mode():
        np.testing.assert_allclose(decoded.numpy(), decode_dalle(model, tokens).numpy(), atol=1e-4)
    image = load_dataset("shapes", n=1, seed=2, size=model.config.image_size).images[0]
    nll, recon = remote_token_nll(connection, model, image, "blue square")
    np.testing.assert_allclose(nll.numpy(), token_nll(model, to_tensor(image[None]), "blue square").numpy(), rtol=1e-4,
                               atol=1e-5)
    assert recon.shape == (1, 3, model.config.image_size, model.config.image_size)
