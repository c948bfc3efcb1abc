"""One row per checkpoint: measured, cached per weights hash, and the claims and page built from rows."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil

import numpy as np
import pytest
import torch

from playground.core.checkpoints import WEIGHTS_NAME, load_checkpoint, save_checkpoint
from playground.core.compare import families, report
from playground.core.compare.claims import CLAIMS, FAILS, HOLDS, UNMEASURED, VERDICTS, check_claims
from playground.core.compare.html import format_table, render_html, write_report
from playground.core.compare.report import FamilyScores, cached_scores, score_checkpoint
from compare_models import small_training_set


def test_a_row_holds_every_column(tiny_families):
    scores = score_checkpoint(tiny_families["vae"], n=6, seed=0)
    assert (scores.family, scores.n, scores.seed) == ("vae", 6, 0)
    assert scores.samples.shape == (6, 32, 32, 3) and scores.samples.dtype == np.uint8
    assert 0 <= scores.drawn <= scores.clean <= 1
    assert set(scores.entropy) == {"shape", "color", "size", "position"}
    assert scores.evaluations == 1 and scores.ms_per_sample > 0
    assert scores.parameters == sum(p.numel() for p in load_checkpoint(tiny_families["vae"]).model.parameters())
    assert scores.train_cpu_minutes == pytest.approx(2.0)  # 120 s in its JSON
    assert scores.adherence is None
    assert scores.memorisation > 0 and scores.train_distance >= 0


def test_older_checkpoints_without_training_time_say_so(tiny_families):
    scores = score_checkpoint(tiny_families["gan"], n=2, seed=0)
    assert scores.train_cpu_minutes is None
    assert "not recorded" in format_table([scores])
    assert scores.bits_per_dim is None and scores.likelihood_note


def test_a_prompted_model_has_adherence(tiny_families):
    scores = score_checkpoint(tiny_families["dit"], n=2, seed=0)
    assert scores.adherence is not None and 0 <= scores.adherence <= 1


def test_a_model_that_outputs_training_images_has_memorisation_0(tiny_families, monkeypatch):
    train = small_training_set()
    copier = dataclasses.replace(families.ADAPTERS["vae"],
                                 sample=lambda loaded, n, seed, progress, stop: train[seed:seed + n].copy())
    monkeypatch.setitem(families.ADAPTERS, "vae", copier)
    scores = score_checkpoint(tiny_families["vae"], n=20, seed=0, cache=False)
    assert scores.memorisation == 0.0 and scores.copies == 1.0
    assert scores.clean >= 0.9


def test_the_cache_is_hit_for_the_same_weights_and_missed_after_they_change(tiny_families, tmp_path, monkeypatch):
    folder = tmp_path / "vae"
    shutil.copytree(tiny_families["vae"], folder)
    assert cached_scores(folder, n=4, seed=1) is None
    first = score_checkpoint(folder, n=4, seed=1)
    loads = []
    real_load = report.load_checkpoint
    monkeypatch.setattr(report, "load_checkpoint", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    again = score_checkpoint(folder, n=4, seed=1)
    assert loads == [] and again.sha256 == first.sha256
    assert np.array_equal(again.samples, first.samples) and again.ms_per_sample == first.ms_per_sample
    assert cached_scores(folder, n=5, seed=1) is None  # another n is another entry

    loaded = load_checkpoint(folder)
    with torch.no_grad():
        for p in loaded.model.parameters():
            p.add_(0.01)
    save_checkpoint(folder / WEIGHTS_NAME, loaded.model, loaded.config, "vae", data="shapes")
    assert cached_scores(folder, n=4, seed=1) is None
    changed = score_checkpoint(folder, n=4, seed=1)
    assert len(loads) == 1 and changed.sha256 != first.sha256
    assert score_checkpoint(folder, n=4, seed=1, cache=False) is not None and len(loads) == 2


def test_a_stop_raises_and_caches_nothing(tiny_families):
    with pytest.raises(InterruptedError):
        score_checkpoint(tiny_families["vae"], n=120, seed=0, should_stop=lambda: True)
    assert cached_scores(tiny_families["vae"], n=120, seed=0) is None


def row(family: str, **values) -> FamilyScores:
    base = dict(name=f"{family}-x", family=family, checkpoint="x", sha256="0" * 64, n=500, seed=0,
                samples=np.zeros((2, 32, 32, 3), np.uint8), clean=0.5, drawn=0.4, combinations=200,
                entropy={"shape": 2.0, "color": 2.5, "size": 1.0, "position": 3.0}, bits_per_dim=None,
                likelihood_note="none", memorisation=10.0, train_distance=5.0, evaluations=1, ms_per_sample=1.0,
                parameters=1000, train_cpu_minutes=None, adherence=None, settings="s", sharpness=0.8)
    return FamilyScores(**(base | values))


def test_claims_read_the_numbers_that_bear_on_them():
    rows = [row("vae", combinations=305, sharpness=0.7, ms_per_sample=2.0, clean=0.6, bits_per_dim=1.5),
            row("gan", combinations=266, sharpness=0.95, ms_per_sample=1.0, clean=0.7),
            row("ae", clean=0.1), row("ddpm", clean=0.95, evaluations=50, bits_per_dim=1.2, ms_per_sample=300.0),
            row("dalle", clean=0.9, evaluations=64, ms_per_sample=40.0, train_cpu_minutes=300.0, bits_per_dim=1.0)]
    verdicts = check_claims(rows)
    assert len(verdicts) == len(CLAIMS) and all(v.verdict in VERDICTS and v.rule for v in verdicts)
    by_claim = {v.claim: v for v in verdicts}
    diverse = by_claim["The VAE is more diverse than the GAN."]
    assert diverse.verdict == HOLDS and "305 vs 266" in diverse.numbers
    assert by_claim["The VAE is blurrier than the GAN."].verdict == HOLDS
    assert by_claim["The AE's features are weak and its samples poor."].verdict == HOLDS
    assert by_claim["Diffusion gives the best quality but needs many steps."].verdict == HOLDS
    assert "1.000" in next(v.numbers for v in verdicts if v.claim.startswith("Likelihood"))

    swapped = check_claims([row("vae", combinations=100), row("gan", combinations=300)])
    assert next(v for v in swapped if v.claim == diverse.claim).verdict == FAILS
    alone = check_claims([row("ddpm")])
    assert next(v for v in alone if v.claim == diverse.claim).verdict == UNMEASURED


def test_the_page_is_self_contained_and_its_json_loads(tmp_path):
    rows = [row("vae", memorisation=float("nan"), bits_per_dim=1.5), row("gan")]
    verdicts = check_claims(rows)
    write_report(rows, verdicts, tmp_path / "r.html", tmp_path / "r.json")
    page = (tmp_path / "r.html").read_text()
    assert "http://" not in page and "https://" not in page and "<script" not in page and "<link" not in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 2 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "The VAE is more diverse than the GAN." in page and "vae-x" in page
    data = json.loads((tmp_path / "r.json").read_text(),
                      parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert [m["family"] for m in data["models"]] == ["vae", "gan"]
    assert data["models"][0]["memorisation"] is None
    assert len(data["claims"]) == len(CLAIMS) and data["claims"][0]["verdict"] in VERDICTS
    back = FamilyScores.from_json(data["models"][1])
    assert np.array_equal(back.samples, rows[1].samples)
    assert render_html([], []).startswith("<!DOCTYPE html>")


def test_compare_scores_each_checkpoint_in_order_with_progress(tiny_families):
    from playground.core.compare.report import compare

    seen = set()
    rows = compare([tiny_families["gan"], tiny_families["vae"]], n=2, seed=0,
                   progress=lambda name, done, total: seen.add(name))
    assert [r.family for r in rows] == ["gan", "vae"] and seen == {"gan-tiny", "vae-tiny"}


def test_a_model_trained_on_another_seed_is_measured_against_its_own_training_split():
    from playground.core.data import load_dataset
    from playground.core.evaluation.nearest import training_split

    split = report._shapes_training_split(3, size=200)
    expected = load_dataset("shapes", n=200, seed=3).images[training_split(200, 3)]
    assert np.array_equal(split, expected)
    assert np.array_equal(report._shapes_training_split(3, size=200), split)  # from the cache the second time


def test_timings_within_noise_are_mixed():
    verdicts = check_claims([row("vae", ms_per_sample=1.77), row("gan", ms_per_sample=1.74)])
    assert next(v for v in verdicts if v.claim == "The VAE is slower than the GAN.").verdict == "mixed"


def test_shipped_scores_fill_the_page_for_the_exact_weights_they_measured(tiny_families, tmp_path, monkeypatch):
    """assets/compare/scores.json (the report's JSON) stands in for the user's cache: the rows are there
    at once on a fresh machine, but only for the weights, N and seed they were measured with."""
    folder = tmp_path / "vae"
    shutil.copytree(tiny_families["vae"], folder)
    measured = score_checkpoint(folder, n=4, seed=1)
    assets = tmp_path / "assets"
    write_report([measured], check_claims([measured]), None, assets / "compare" / "scores.json", command="c")
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(assets))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "fresh-cache"))  # a new machine: nothing cached
    monkeypatch.setattr(report, "load_checkpoint", lambda *a, **k: pytest.fail("a shipped row was measured again"))
    shipped = score_checkpoint(folder, n=4, seed=1)
    assert np.array_equal(shipped.samples, measured.samples) and shipped.clean == measured.clean
    assert shipped.memorisation == pytest.approx(measured.memorisation, nan_ok=True)
    assert cached_scores(folder, n=5, seed=1) is None  # another N: not the shipped row
    loaded = load_checkpoint(folder)
    with torch.no_grad():
        next(loaded.model.parameters()).add_(0.01)
    save_checkpoint(folder / WEIGHTS_NAME, loaded.model, loaded.config, "vae", data="shapes")
    assert cached_scores(folder, n=4, seed=1) is None  # retrained: the shipped row no longer applies


def test_the_shipped_scores_cover_every_compared_model_at_the_default_settings():
    """The page is full when it opens: every shipped model on it has its row in assets/compare/scores.json."""
    from playground.core.compare.cache import shipped_rows
    from playground.core.compare.families import compared_checkpoints
    from playground.core.provenance import weights_sha256

    compared = compared_checkpoints()
    if not compared:
        pytest.skip("no shipped checkpoints here")
    have = shipped_rows()
    missing = [c.name for c in compared if (weights_sha256(c.path), 500, 0) not in have]
    assert not missing, f"re-run the command in assets/compare/scores.json: no shipped row for {missing}"
