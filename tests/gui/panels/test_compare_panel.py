"""The Compare panel as a teacher uses it: every tiny generative model gets a row of samples and
numbers, the seeds' claims get verdicts, Stop stops, cached results show without a model being
run, the page exports as one self-contained HTML file (and its JSON), and a checkpoint of the
user's is added (one the comparison cannot sample is refused with a message)."""

from __future__ import annotations

import json
import shutil

import pytest
from PySide6.QtCore import Qt

from pathlib import Path

import playground
from playground.core.assets import list_shipped
from playground.core.checkpoints import load_checkpoint
from playground.core.compare import report
from playground.core.compare.families import ADAPTERS
from playground.gui.panels.compare import ComparePanel
from playground.gui.panels.compare import panel as panel_module

SMALL_N = 16
REAL_JUDGE = report.judge_classifier  # before the fixture below replaces it
REPO_CLASSIFIER = Path(playground.__file__).resolve().parents[1] / "assets" / "classifier-shapes"


@pytest.fixture(autouse=True)
def judge_and_cache(monkeypatch, tmp_path):
    """The judge is the repository's attribute classifier (the tiny assets hold none), and the
    results cache is this test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    classifier = load_checkpoint(REPO_CLASSIFIER, "cpu").model.eval()
    monkeypatch.setattr(report, "judge_classifier", lambda device="cpu": classifier)
VERDICTS = {"holds", "does not hold", "mixed", "not measured"}


def _panel(window, n: int = SMALL_N) -> ComparePanel:
    """The page measuring at N (the main_window fixture turns "Measure missing rows" off)."""
    panel = next(p for p in window.panels if isinstance(p, ComparePanel))
    panel.controls.measure_missing.setChecked(True)
    panel.controls.n_box.setValue(n)
    window.show_panel(panel)
    panel.refresh()  # at this N now (not when the spin box's settle timer fires)
    return panel


def _generative_models() -> set[str]:
    return {item.name for item in list_shipped() if item.meta.family in ADAPTERS}


def test_rows_fill_with_numbers_claims_get_verdicts_and_the_page_exports(main_window, qtbot, tmp_path, monkeypatch):
    panel = _panel(main_window)
    expected = _generative_models()
    assert {"vae-tiny", "ae-tiny", "gan-tiny", "ddpm-tiny", "dalle-tiny"} <= expected
    assert {r.name for r in panel.rows.values()} == expected  # a clip or classifier is no generative model
    qtbot.waitUntil(lambda: not panel.running, timeout=600000)
    for key, row in panel.rows.items():
        assert row.scores is not None and row.state == "measured", (row.name, row.state)
        assert row.scores.n == SMALL_N
        clean = panel.table.cell_text(key, "Clean")
        assert clean.endswith("%") and 0 <= int(clean[:-1]) <= 100
        assert 0 <= int(panel.table.cell_text(key, "Combos")) <= 432
        assert int(panel.table.cell_text(key, "Evals")) >= 1
        assert panel.table.cell_text(key, "Bits/dim")  # a number, or the reason there is none
    by_name = {r.name: r for r in panel.rows.values()}
    assert by_name["gan-tiny"].scores.bits_per_dim is None and by_name["gan-tiny"].scores.likelihood_note
    assert by_name["vae-tiny"].scores.bits_per_dim is not None

    # sortable: by the number of combinations covered, then the other way round
    combos = 4  # the column's index: Model, Samples, Clean, Drawn, Combos
    panel.table.sortByColumn(combos, Qt.SortOrder.AscendingOrder)
    shown = [int(panel.table.item(r, combos).text()) for r in range(panel.table.rowCount())]
    assert shown == sorted(shown)

    claims = panel.claims
    assert claims.rowCount() > 0
    assert all(claims.verdict_of(r) in VERDICTS for r in range(claims.rowCount()))

    html = panel.export(tmp_path / "compare.html")
    text = html.read_text()
    assert "data:image/png;base64," in text and "<img" in text
    assert "src=\"http" not in text and "src='http" not in text  # self-contained: nothing fetched
    data = json.loads(html.with_suffix(".json").read_text())
    assert len(json.dumps(data)) > 100

    # cached: the same N and seed again shows every row at once, no model run
    def no_model(*args, **kwargs):
        raise AssertionError("a cached row was measured again")

    monkeypatch.setattr(panel_module, "score_checkpoint", no_model)
    panel.refresh()
    # the cache lookup runs in the worker: wait for its answer, not merely for the run to end
    qtbot.waitUntil(lambda: all(r.state == "cached" and r.scores is not None for r in panel.rows.values()),
                    timeout=60000)


def test_stop_stops_the_run_and_keeps_what_was_measured(main_window, qtbot):
    panel = _panel(main_window, n=2000)
    qtbot.waitUntil(lambda: any(r.state.startswith("computing") for r in panel.rows.values()), timeout=120000)
    assert panel.controls.stop_button.isEnabled()
    panel.controls.stop_button.click()
    assert not panel.running and not panel.controls.stop_button.isEnabled()
    assert any(r.state == "stopped" for r in panel.rows.values())
    qtbot.waitUntil(lambda: not panel.worker.is_busy(), timeout=60000)  # the running model gave up
    assert all(r.state in ("stopped", "measured", "cached") for r in panel.rows.values())


def test_a_checkpoint_of_the_users_is_added_and_one_without_a_sampler_refused(main_window, qtbot, tiny_assets,
                                                                                tmp_path):
    panel = _panel(main_window)
    panel.stop()  # the shipped rows are not what this test is about
    messages = []
    panel.status_message.connect(messages.append)
    assert not panel.add_checkpoint(tiny_assets / "clip-tiny")
    assert "no sampler" in messages[-1]
    mine = tmp_path / "my-vae"
    shutil.copytree(tiny_assets / "vae-tiny", mine)
    mine_weights = next(mine.glob("*.safetensors"))
    assert panel.add_checkpoint(mine)
    row = panel.rows[str(mine_weights.resolve())]
    assert row.added and row.name == "my-vae" and panel.table.row_of(row.key) is not None
    qtbot.waitUntil(lambda: not panel.running, timeout=120000)
    assert row.scores is not None and row.state == "measured"
    assert sum(r.scores is not None for r in panel.rows.values()) == 1  # only the one added was measured
    assert panel.add_checkpoint(mine)  # twice: still one row
    assert sum(r.added for r in panel.rows.values()) == 1


def test_every_verdict_has_its_own_colour():
    from playground.gui.panels.compare.claims_view import VERDICT_COLOURS, verdict_colour

    assert set(VERDICT_COLOURS) == VERDICTS
    assert len(set(VERDICT_COLOURS.values())) == len(VERDICTS)
    assert verdict_colour("a verdict never heard of") == VERDICT_COLOURS["not measured"]


def test_the_window_opens_on_compare_full_from_the_shipped_scores_and_measures_nothing_else(
        qtbot, tiny_assets, tmp_path, monkeypatch):
    """A teacher's first page: rows with shipped (or cached) scores are full at once; with "Measure
    missing rows" off, the others say how to measure them and no model runs."""
    from playground.core.compare.claims import check_claims
    from playground.core.compare.html import write_report
    from playground.gui.main_window import MainWindow
    from playground.gui.panels.compare.controls import MEASURE_MISSING_KEY
    from playground.gui.window_state import window_settings
    import torch

    assets = tmp_path / "assets"
    shutil.copytree(tiny_assets, assets)
    measured = report.score_checkpoint(assets / "vae-tiny", n=500, seed=0)
    write_report([measured], check_claims([measured]), None, assets / "compare" / "scores.json")
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(assets))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "fresh-cache"))
    window_settings().setValue(MEASURE_MISSING_KEY, False)
    monkeypatch.setattr(panel_module, "score_checkpoint", lambda *a, **k: pytest.fail("a model was measured"))
    window = MainWindow(torch.device("cpu"))
    qtbot.addWidget(window)
    window.show()
    try:
        panel = window.current_panel
        assert isinstance(panel, ComparePanel) and window.tabs.currentIndex() == 0
        vae = next(r for r in panel.rows.values() if r.name == "vae-tiny")
        qtbot.waitUntil(lambda: vae.scores is not None, timeout=60000)
        assert vae.state == "cached" and vae.scores.clean == measured.clean
        others = [r for r in panel.rows.values() if r is not vae]
        assert others and all(r.scores is None and "Recompute" in r.state for r in others)
        assert not panel.running and panel.claims.isVisible()
    finally:
        window.close()


def test_without_the_attribute_classifier_the_page_says_so_once(main_window, qtbot, monkeypatch):
    """The tiny assets hold no classifier: one message, every row saying why, no model run."""
    REAL_JUDGE.cache_clear()
    monkeypatch.setattr(report, "judge_classifier", REAL_JUDGE)  # the real lookup, in the tiny assets
    monkeypatch.setattr(panel_module, "score_checkpoint", lambda *a, **k: pytest.fail("a model was measured"))
    messages = []
    panel = next(p for p in main_window.panels if isinstance(p, ComparePanel))
    panel.status_message.connect(messages.append)
    panel.controls.measure_missing.setChecked(True)
    main_window.show_panel(panel)
    panel.refresh()
    qtbot.waitUntil(lambda: all("classifier" in r.state for r in panel.rows.values()), timeout=60000)
    assert len([m for m in messages if "classifier" in m]) == 1 and not panel.running
