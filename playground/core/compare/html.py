"""The comparison as a page: the table as text (CLI), one self-contained HTML file, and its JSON.

The HTML file holds everything it shows (PNG strips inlined as base64 data URIs, the style
inline, no script, no link out), so it opens offline, in a course's folder or on a slide.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image

from ..images import atomic_path, make_grid, upscale
from .claims import ClaimVerdict
from .report import REPORT_VERSION, FamilyScores

COMBINATIONS = 432
JSON_FORMAT = "playground-compare"


def _num(x: float | None, spec: str, missing: str = "n/a") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return missing
    return format(x, spec)


def _pct(x: float | None) -> str:
    return _num(None if x is None else 100 * x, ".1f") + ("%" if x is not None and not math.isnan(x) else "")


def _entropy(s: FamilyScores) -> str:
    return " ".join(f"{v:.2f}" for v in s.entropy.values())


def _params(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"


# (title, what it is, cell) for every column of the table: the text table and the HTML share them
COLUMNS: tuple[tuple[str, str, Callable[[FamilyScores], str]], ...] = (
    ("model", "checkpoint (family)", lambda s: f"{s.name} ({s.family})"),
    ("clean", "share of clean single shapes", lambda s: _pct(s.clean)),
    ("drawn", "share drawn as the renderer draws their labels", lambda s: _pct(s.drawn)),
    ("combos", f"attribute combinations covered, of {COMBINATIONS}", lambda s: str(s.combinations)),
    ("H bits", "entropy of shape, colour, size, position in bits (max 2.00 2.58 1.00 3.17)", _entropy),
    ("sharp", "sharpness against real renders (1: as sharp)", lambda s: _num(s.sharpness, ".2f")),
    ("bits/dim", "bits per dimension of held-out images", lambda s: _num(s.bits_per_dim, ".3f", "none")),
    ("nearest", "median RMS distance to the nearest training image (0-255 levels)", lambda s: _num(s.memorisation, ".1f")),
    ("train-train", "median distance from a training image to its nearest different one (exact twins skipped)", lambda s: _num(s.train_distance, ".1f")),
    ("copies", "share of samples within 1 level of a training image (held-out renders: train copies)",
     lambda s: f"{_pct(s.copies)} ({_pct(s.train_copies)})"),
    ("evals", "network evaluations per sample", lambda s: str(s.evaluations)),
    ("ms", "milliseconds per sample on this machine", lambda s: _num(s.ms_per_sample, ".2f")),
    ("params", "parameters", lambda s: _params(s.parameters)),
    ("train min", "training CPU minutes (checkpoint JSON)", lambda s: _num(s.train_cpu_minutes, ".0f", "not recorded")),
    ("adherence", "full prompts with all four attributes right, at the best settings", lambda s: _pct(s.adherence)),
)


def format_table(scores: list[FamilyScores]) -> str:
    """The table as aligned text, one row per model."""
    rows = [[title for title, _, _ in COLUMNS]] + [[cell(s) for _, _, cell in COLUMNS] for s in scores]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def format_claims(verdicts: list[ClaimVerdict]) -> str:
    return "\n".join(f"- {v.claim}\n    {v.numbers}: {v.verdict.upper()}" for v in verdicts)


def png_data_uri(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, np.uint8)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def strip(samples: np.ndarray, scale: int = 2) -> np.ndarray:
    return upscale(make_grid(samples, columns=len(samples)), scale) if len(samples) else np.zeros((1, 1, 3), np.uint8)


def scores_json(scores: list[FamilyScores], verdicts: list[ClaimVerdict], command: str | None = None) -> dict[str, Any]:
    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    return {"format": JSON_FORMAT, "version": REPORT_VERSION, **({"command": command} if command else {}),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "models": [clean(s.to_json()) for s in scores],
            "claims": [{"claim": v.claim, "numbers": v.numbers, "verdict": v.verdict, "rule": v.rule} for v in verdicts]}


STYLE = """body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:4px 6px;text-align:right;vertical-align:middle}th{background:#f3f3f3}
td.l,th.l{text-align:left}td.l{min-width:12em}th{white-space:nowrap}img{image-rendering:pixelated;display:block}.holds{background:#d8f0d8}
.does-not-hold{background:#f6d6d6}.mixed{background:#f7ecc8}.not-measured{background:#eee}.small{color:#666;font-size:12px}"""


def render_html(scores: list[FamilyScores], verdicts: list[ClaimVerdict], title: str = "The family tree, measured") -> str:
    e = html.escape
    head = "".join(f'<th title="{e(what)}">{e(t)}</th>' for t, what, _ in COLUMNS)
    rows = []
    for s in scores:
        cells = [f'<td class="l"><b>{e(s.name)}</b><br><span class="small">{e(s.family)}: {e(s.settings)}</span></td>',
                 f'<td><img alt="samples of {e(s.name)}" src="{png_data_uri(strip(s.samples))}"></td>']
        cells += [f"<td>{e(cell(s))}</td>" for _, _, cell in COLUMNS[1:]]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    claims = "".join(
        f'<tr><td class="l">{e(v.claim)}</td><td class="l">{e(v.numbers)}</td>'
        f'<td class="l {v.verdict.replace(" ", "-")}"><b>{e(v.verdict)}</b></td><td class="l small">{e(v.rule)}</td></tr>'
        for v in verdicts)
    n = scores[0].n if scores else 0
    seed = scores[0].seed if scores else 0
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title><style>{STYLE}</style></head><body>
<h1>{e(title)}</h1>
<p>Every model trained on the same shapes data set, sampled from the same seeds ({n} samples, seeds {seed} to
{seed + n - 1}) and read by the same attribute classifier. Hover a column title for what it measures.</p>
<table><tr><th class="l">model</th><th>first samples</th>{head.split('</th>', 1)[1]}</tr>
{''.join(rows)}</table>
<h2>The seeds' table, checked</h2>
<table><tr><th class="l">claim</th><th class="l">measured</th><th class="l">verdict</th><th class="l">rule</th></tr>
{claims}</table>
<p class="small">Made by <code>playground compare</code>. Memorisation: on shapes only 11,664 distinct renders exist
and the training set repeats many, so "train-train" is the distance to the nearest <em>different</em> training
image (a 1-pixel jitter away); a sample nearer than that to a training image is nearer than two different renders
are to each other. "copies" counts samples within 1 level of a training image; in brackets, the share of
held-out renders that are (most fresh renders are in the training set): what a perfect sampler would get.</p>
</body></html>
"""


def write_report(scores: list[FamilyScores], verdicts: list[ClaimVerdict], out_html: str | Path | None,
                 out_json: str | Path | None = None, command: str | None = None) -> None:
    """The HTML page and/or the JSON behind it (each written atomically)."""
    if out_html is not None:
        with atomic_path(out_html) as tmp:
            Path(tmp).write_text(render_html(scores, verdicts), encoding="utf-8")
    if out_json is not None:
        with atomic_path(out_json) as tmp:
            Path(tmp).write_text(json.dumps(scores_json(scores, verdicts, command), indent=1) + "\n")
