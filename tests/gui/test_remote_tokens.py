"""The token and CLIP panels over a real `playground serve` on 127.0.0.1: with the app connected, the
VQ-VAE codebook panel's encodes, decodes and usage count (and the CLIP panel's matrix and zero-shot
reading) run on the server and show what a local run shows; local model calls are patched to fail."""

from __future__ import annotations

import numpy as np
import torch
import pytest
from PySide6.QtCore import Qt

from playground.core.codebook.analysis import codebook_atlas, codebook_usage, decode_tokens, encode_tokens
from playground.gui.panels.codebook import VQVAEPanel, codebook_column, editing, files, state
from playground.gui.remote_worker import RemoteWorker, server_link
from serving_support import run_server
from tolerance import assert_same_picture

pytest.importorskip("litserve")


def refuse(*args, **kwargs):
    raise AssertionError("computed on this computer")


@pytest.fixture
def codebook_remote_only(monkeypatch):
    monkeypatch.setitem(codebook_column.DATA_SETS, "shapes", 120)
    for module in (editing, files):
        monkeypatch.setattr(module, "decode_tokens", refuse)
    monkeypatch.setattr(editing, "encode_tokens", refuse)
    monkeypatch.setattr(state, "encode_tokens_progressive", refuse)
    monkeypatch.setattr(state, "codebook_atlas", refuse)  # the atlas tiles are decoded by the server too


def test_the_codebook_panel_encodes_decodes_and_counts_on_the_server(link, main_window, qtbot, codebook_remote_only):
    panel = next(p for p in main_window.panels if isinstance(p, VQVAEPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    assert isinstance(panel.live, RemoteWorker) and panel.live.link is link
    errors = []
    panel.live.error.connect(errors.append)
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.editor is not None and panel.usage is not None, timeout=30000)
    model = panel.loaded.model
    usage = panel.usage  # every batch encoded by the server
    here = encode_tokens(model, usage.data.images)
    assert usage.tokens.shape == here.shape and (usage.tokens == here).mean() > 0.95
    assert usage.counts.sum() == here.size and np.array_equal(usage.counts, codebook_usage(usage.tokens, model.codebook_size))
    # the shown grid came from the server's encode; painting a cell decodes it there
    before = panel.editor.grid.copy()
    code = (int(before[2, 5]) + 5) % model.codebook_size
    panel.select_code(code)
    qtbot.mouseClick(panel.grid_column.canvas.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.grid_column.canvas.widget_pos_of_cell(2, 5).toPoint())
    assert np.argwhere(panel.editor.grid != before).tolist() == [[2, 5]]
    qtbot.waitUntil(lambda: panel.decoded_grid is not None and np.array_equal(panel.decoded_grid, panel.editor.grid),
                    timeout=10000)
    assert_same_picture(panel.current_image, decode_tokens(model, panel.editor.grid)[0])
    assert_same_picture(panel.codebook.fill_tiles, codebook_atlas(model))
    assert not errors


def test_the_clip_matrix_and_zero_shot_tabs_read_on_the_server(link, main_window, qtbot, monkeypatch):
    from playground.core.clip.classify import read_attributes
    from playground.core.clip.matrix import caption_matrix
    from playground.gui.panels.clip import ClipPanel
    from playground.gui.panels.clip import similarity_tab, zero_shot_tab

    monkeypatch.setattr(similarity_tab, "caption_matrix", refuse)
    monkeypatch.setattr(zero_shot_tab, "read_attributes", refuse)
    panel = next(p for p in main_window.panels if isinstance(p, ClipPanel))
    errors = []
    panel.worker.error.connect(errors.append)
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=20000)
    tab = panel.view(similarity_tab.SimilarityTab)
    qtbot.waitUntil(lambda: tab.matrix is not None, timeout=20000)
    expected = caption_matrix(panel.loaded.model, 8, 1)
    assert tab.matrix.captions == expected.captions
    np.testing.assert_allclose(tab.matrix.similarity, expected.similarity, atol=1e-4)
    zero = panel.view(zero_shot_tab.ZeroShotTab)
    panel.tabs.setCurrentWidget(zero)
    qtbot.waitUntil(lambda: zero.reading is not None, timeout=20000)
    here = read_attributes(panel.loaded.model, zero.image[None])[0]
    for attribute, reading in here.items():
        np.testing.assert_allclose(zero.reading[attribute].probabilities, reading.probabilities, atol=1e-4)
    assert "attributes right" in zero.summary.text() and not errors


def test_the_token_by_token_run_streams_from_the_server_and_stops_within_a_token(link, main_window, qtbot, monkeypatch):
    from playground.core.tokens.sampling import sample_tokens
    from playground.gui.panels.tokens import TokensPanel, session, token_tab
    from playground.gui.panels.tokens.token_tab import SPEEDS

    monkeypatch.setattr(session, "TokenWriter", refuse)  # a writer here would fail the run
    monkeypatch.setattr(token_tab, "codebook_atlas", refuse)
    panel = next(p for p in main_window.panels if isinstance(p, TokensPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    tab = panel.token_tab
    errors = []
    panel.worker.error.connect(errors.append)
    tab.speed_box.setCurrentIndex(len(SPEEDS) - 1)
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: tab.frame is not None and tab.frame.done and not tab.playing, timeout=30000)
    assert tab.session.connection is not None and hasattr(tab.session.writer, "connection")
    expected = sample_tokens(panel.loaded.model, panel.prompt.text(), panel.token_settings(), 1, panel.seed())[0].numpy()
    np.testing.assert_array_equal(tab.frame.tokens, expected)  # the core's own run, written by the server
    assert "64 of 64 cells written" in tab.grid_title.text()
    qtbot.waitUntil(lambda: tab.tiles is not None, timeout=10000)
    assert_same_picture(tab.tiles, codebook_atlas(panel.loaded.model.vq))
    # Stop: the run ends within a token (and the server's stream with it)
    tab.speed_box.setCurrentIndex(0)
    run = tab.frame.run
    tab.generate_button.click()
    qtbot.waitUntil(lambda: tab.frame.run > run and tab.frame.position >= 1, timeout=10000)
    tab.stop_button.click()
    qtbot.waitUntil(lambda: not tab.playing, timeout=2000)
    stopped = tab.frame.position
    qtbot.wait(1200)  # at 2 tokens/s, two more cells had it not stopped
    assert tab.frame.position == stopped < 64 and tab.session.writer._stream is None
    # one more cell: a step continues the stopped run on the server
    with qtbot.waitSignal(tab.run_ended, timeout=10000):
        tab.step_button.click()
    assert tab.frame.position == stopped + 1 and not errors


def test_the_likelihood_and_rerank_tabs_run_the_dalle_on_the_server(link, main_window, qtbot, monkeypatch):
    from playground.core.data import to_tensor, to_uint8
    from playground.core.tokens.likelihood import LN2, token_nll
    from playground.core.tokens.sampling import sample_tokens
    from playground.gui.panels.tokens import TokensPanel, likelihood_tab, rerank_tab
    from playground.gui.widgets import partner_models

    monkeypatch.setattr(likelihood_tab, "token_nll_of_tokens", refuse)
    monkeypatch.setattr(rerank_tab, "sample_tokens", refuse)
    monkeypatch.setattr(partner_models, "shipped_for", lambda family: None)  # no CLIP: shown unranked
    panel = next(p for p in main_window.panels if isinstance(p, TokensPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    main_window.show_panel(panel)
    errors = []
    panel.worker.error.connect(errors.append)
    view = panel.likelihood_tab
    panel.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.result is not None, timeout=20000)
    image = view.gallery.image(0)
    nll = token_nll(panel.loaded.model, to_tensor(image[None]), panel.prompt.text())
    np.testing.assert_allclose(view.result.bits, nll[0].numpy() / LN2, rtol=1e-4)
    assert view.numbers.text("bpt") != "–"
    rerank = panel.rerank_tab
    panel.tabs.setCurrentWidget(rerank)
    rerank.count.setValue(3)
    with qtbot.waitSignal(rerank.ranked, timeout=30000):
        rerank.run_button.click()
    model, result = panel.loaded.model, rerank.result
    tokens = sample_tokens(model, panel.prompt.text(), panel.token_settings(), 3, panel.seed())
    assert len(result.images) == 3 and list(result.order) == [0, 1, 2]
    assert_same_picture(result.images, to_uint8(model.decode(tokens)))
    assert not errors


def test_retrieval_and_the_map_embed_the_pool_on_the_server(link, main_window, qtbot, monkeypatch):
    from playground.core.clip import retrieval
    from playground.core.clip.scores import image_embeddings
    from playground.core.data import to_tensor
    from playground.gui.panels.clip import ClipPanel, map_tab, retrieval_tab

    monkeypatch.setattr(retrieval, "_cache", {})  # embedded fresh, by the server
    monkeypatch.setattr(retrieval, "image_embeddings", refuse)
    monkeypatch.setattr(map_tab, "prompt_embeddings", refuse)
    for module in (retrieval_tab, map_tab):
        monkeypatch.setattr(module, "POOL_SIZE", 200)
    monkeypatch.setattr(map_tab, "MAP_POINTS", 100)
    panel = next(p for p in main_window.panels if isinstance(p, ClipPanel))
    errors = []
    panel.worker.error.connect(errors.append)
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=20000)
    tab = panel.view(retrieval_tab.RetrievalTab)
    panel.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.result is not None, timeout=60000)
    pool = tab.pool
    assert len(pool) == 200 and np.all(np.diff(tab.result.scores) <= 0)
    with torch.no_grad():
        here = image_embeddings(panel.loaded.model, to_tensor(pool.data.images))
    np.testing.assert_allclose(pool.embeddings.numpy(), here.numpy(), atol=1e-4)
    view = panel.view(map_tab.MapTab)
    panel.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.map is not None, timeout=60000)
    assert view.map.image_xy.shape == (100, 2) and not errors


def test_a_lost_server_is_one_message_and_the_run_is_written_here(tmp_path, tiny_assets, main_window, qtbot):
    from playground.core.tokens.sampling import sample_tokens
    from playground.gui.panels.tokens import TokensPanel
    from playground.gui.panels.tokens.token_tab import SPEEDS

    with run_server(tmp_path, {}, checkpoints=tiny_assets) as server:
        link = server_link()
        link.connect_to(server.address)
        try:
            panel = next(p for p in main_window.panels if isinstance(p, TokensPanel))
            qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
            tab = panel.token_tab
            errors = []
            panel.worker.error.connect(errors.append)
            tab.speed_box.setCurrentIndex(len(SPEEDS) - 1)
            main_window.show_panel(panel)
            qtbot.waitUntil(lambda: tab.frame is not None and tab.frame.done and not tab.playing, timeout=30000)
            assert hasattr(tab.session.writer, "connection")  # written by the server
            server.kill()
            run = tab.frame.run
            tab.generate_button.click()
            qtbot.waitUntil(lambda: tab.frame.run > run and tab.frame.done and not tab.playing, timeout=30000)
            assert not link.connected and any("lost the model server" in e for e in errors)
            assert tab.session.connection is None and not hasattr(tab.session.writer, "connection")
            expected = sample_tokens(panel.loaded.model, panel.prompt.text(), panel.token_settings(), 1, panel.seed())
            np.testing.assert_array_equal(tab.frame.tokens, expected[0].numpy())
        finally:
            link.disconnect()
