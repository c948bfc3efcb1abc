"""One row of the comparison per checkpoint: samples from fixed seeds, measured with one yardstick.

`score_checkpoint` loads a checkpoint, draws n unconditional samples (image i from seed + i)
with its family's adapter (`families.py`) and measures them (`metrics.py`):

- fidelity and diversity by the attribute classifier's judge;
- likelihood in bits per dimension of the same validation images (`likelihood.bits_per_dim`,
  where the family defines one; otherwise its reason);
- memorisation: nearest-training-image distance against the training set's own spacing (the
  nearest *different* training image: shapes repeats renders), and the share of exact copies;
- cost: network evaluations per sample, milliseconds per sample on this machine (at the
  threads torch runs with), parameters and training CPU minutes from the checkpoint's JSON
  (older checkpoints did not record it: None, "not recorded");
- adherence, for prompt-conditioned models: the share of samples of full prompts (all four
  attributes named; ADHERENCE_PROMPTS prompts x ADHERENCE_PER_PROMPT) read with all four right,
  at the model's best settings.

Results are cached (`cache.py`): per weights SHA-256, n and seed in the user's cache folder, and
the shipped models' rows in assets/compare/scores.json.
"""

from __future__ import annotations

import base64
import time
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..checkpoints import CheckpointError, LoadedModel, load_checkpoint, read_meta, resolve_paths
from ..data import DEFAULT_SHAPES_SIZE
from ..disk_cache import cached_array
from ..provenance import weights_sha256
from .cache import cache_dir, cached_row, store_row
from .cache import REPORT_VERSION  # noqa: F401 (re-exported: the report's version)
from .families import adapter_for
from .metrics import copy_share, diversity, fidelity, judged, nearest_different, nearest_distances, sharpness_ratio

SHOWN_SAMPLES = 8            # the row's strip of samples
ADHERENCE_PROMPTS = 16       # full prompts (text2img.evaluation.default_prompts)
ADHERENCE_PER_PROMPT = 2
LIKELIHOOD_IMAGES = 200      # validation images the likelihood is measured on (held out of training)
LIKELIHOOD_UNITS = 100       # progress units the likelihood phase takes
Progress = Callable[[int, int], None]


@dataclass
class FamilyScores:
    name: str
    family: str
    checkpoint: str
    sha256: str
    n: int
    seed: int
    samples: np.ndarray          # uint8 (k, H, W, 3): the first SHOWN_SAMPLES samples
    clean: float
    drawn: float
    combinations: int
    entropy: dict[str, float]
    bits_per_dim: float | None
    likelihood_note: str
    memorisation: float          # median nearest-training-image distance of the samples (RMS levels)
    train_distance: float        # median distance from a training image to its nearest different one
    evaluations: int
    ms_per_sample: float
    parameters: int
    train_cpu_minutes: float | None
    adherence: float | None
    settings: str
    sharpness: float = float("nan")  # the samples' sharpness over held-out renders' (1: as sharp as the data)
    copies: float = 0.0          # share of samples within 1 level RMS of a training image
    train_copies: float = 0.0    # the same share for held-out renders (what a perfect sampler gets)
    seconds: float = 0.0         # how long scoring took

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        samples = np.ascontiguousarray(self.samples, np.uint8)
        data["samples"] = {"shape": list(samples.shape), "uint8_base64": base64.b64encode(samples.tobytes()).decode()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "FamilyScores":
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        for f in fields(cls):  # the report's JSON writes NaN (not measured) as null
            if f.type == "float" and values.get(f.name, 0.0) is None:
                values[f.name] = float("nan")
        raw = data["samples"]
        values["samples"] = np.frombuffer(base64.b64decode(raw["uint8_base64"]), np.uint8).reshape(raw["shape"]).copy()
        return cls(**values)


def cached_scores(path: str | Path, n: int = 500, seed: int = 0) -> FamilyScores | None:
    """The cached (or shipped) scores of this checkpoint's weights at (n, seed), or None."""
    row = cached_row(path, n, seed)
    try:
        return FamilyScores.from_json(row) if row is not None else None
    except (ValueError, KeyError, TypeError):
        return None


@lru_cache(maxsize=2)
def judge_classifier(device: str = "cpu") -> torch.nn.Module:
    from ..assets import default_checkpoint

    return load_checkpoint(default_checkpoint("classifier"), device).model.eval()


def judge_problem(device: str = "cpu") -> str | None:
    """Why samples cannot be judged here (the attribute classifier is missing or unreadable), or None."""
    try:
        judge_classifier(device)
    except (CheckpointError, OSError) as exc:
        return f"Compare needs the attribute classifier that judges every sample: {exc}"
    return None


def _training_images(loaded: LoadedModel) -> np.ndarray | None:
    """The training split of the shapes data set the checkpoint trained on (`--seed` draws the data and
    splits it: `Trainer`), or None for other data."""
    from ..evaluation.nearest import training_images

    seed = (loaded.meta.extra.get("train_config") or {}).get("seed", 0)
    if loaded.meta.data != "shapes" or not isinstance(seed, int):
        return None
    return training_images("shapes") if seed == 0 else _shapes_training_split(seed)


@lru_cache(maxsize=1)
def _shapes_training_split(seed: int, size: int = DEFAULT_SHAPES_SIZE) -> np.ndarray:
    """The training split of `size` shapes drawn with a seed other than 0 (rendered once, kept in the cache)."""
    from ..data.shapes import draw_specs, render
    from ..evaluation.nearest import training_split

    def make() -> np.ndarray:
        specs = draw_specs(size, seed)
        return np.stack([render(specs[i]) for i in training_split(size, seed)])

    return cached_array(cache_dir(), f"shapes-train-seed{seed}-{size}-v{REPORT_VERSION}", make)


@lru_cache(maxsize=4)
def _held_out(n: int) -> np.ndarray:
    from ..codebook.report import held_out_shapes

    return held_out_shapes(n)[0]


def adherence(loaded: LoadedModel, classifier: torch.nn.Module, seed: int = 0,
              should_stop: Callable[[], bool] | None = None) -> tuple[float, int, float]:
    """(share of samples of full prompts with all four attributes read right, samples drawn, ms per sample)."""
    from ..evaluation.judge import classify
    from ..text2img.evaluation import default_prompts
    from ..data.shapes import parse_prompt

    prompts = default_prompts(ADHERENCE_PROMPTS, seed=0)[:ADHERENCE_PROMPTS]
    started = time.perf_counter()
    images = adapter_for(loaded.family).prompted(loaded, prompts, ADHERENCE_PER_PROMPT, seed, should_stop)
    ms = 1000 * (time.perf_counter() - started) / (len(prompts) * ADHERENCE_PER_PROMPT)
    labels, _ = classify(classifier, images.reshape(-1, *images.shape[2:]))
    targets = np.repeat(np.array([parse_prompt(p).labels for p in prompts], np.int64), ADHERENCE_PER_PROMPT, axis=0)
    return float((labels == targets).all(axis=1).mean()), len(labels), ms


def _likelihood(loaded: LoadedModel, progress: Progress | None, should_stop) -> tuple[float | None, str]:
    from .likelihood import bits_per_dim

    value, how = bits_per_dim(loaded, _held_out(LIKELIHOOD_IMAGES), progress=progress, should_stop=should_stop)
    if should_stop is not None and should_stop():
        raise InterruptedError("stopped")
    return value, how


def score_checkpoint(path: str | Path, n: int = 500, seed: int = 0, progress: Progress | None = None,
                     should_stop: Callable[[], bool] | None = None, cache: bool = True,
                     device: torch.device | str = "cpu") -> FamilyScores:
    """Measure one checkpoint (see the module docstring); cached unless `cache` is False (then measured
    again and the cache refreshed). Stopped (`should_stop`), raises InterruptedError."""
    weights, _ = resolve_paths(path)
    meta = read_meta(weights)
    adapter = adapter_for(meta.family)  # refuse a family with no sampler before loading anything
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    sha = weights_sha256(weights)
    if cache:
        found = cached_scores(weights, n, seed)
        if found is not None:
            return found
    started = time.perf_counter()
    loaded = load_checkpoint(weights, device)
    prompted = ADHERENCE_PROMPTS * ADHERENCE_PER_PROMPT if adapter.conditional and adapter.prompted else 0
    total = n + prompted + LIKELIHOOD_UNITS
    report = (lambda done, _total: progress(done, total)) if progress else None

    t0 = time.perf_counter()
    images = adapter.sample(loaded, n, seed, report, should_stop)
    ms = 1000 * (time.perf_counter() - t0) / n
    classifier = judge_classifier(str(device))
    judgement = judged(images, classifier)
    clean, drawn = fidelity(images, classifier, judgement)
    combinations, entropy = diversity(images, classifier, judgement)

    adherent = None
    if prompted:
        adherent, _, ms = adherence(loaded, classifier, seed, should_stop)  # cost at the best settings
        if progress:
            progress(n + prompted, total)
    likelihood_progress = ((lambda d, t: progress(n + prompted + LIKELIHOOD_UNITS * d // max(t, 1), total))
                           if progress else None)
    bits, note = _likelihood(loaded, likelihood_progress, should_stop)

    train = _training_images(loaded)
    if train is None:
        memorised = reference = copies = train_copies = float("nan")
    else:
        distances = nearest_distances(images, train)
        memorised, copies = float(np.median(distances)), copy_share(distances)
        reference = nearest_different(train)
        train_copies = copy_share(nearest_distances(_held_out(min(n, 1000)), train))
    cpu_seconds = meta.extra.get("train_cpu_seconds")
    scores = FamilyScores(
        name=loaded.name, family=meta.family, checkpoint=str(weights), sha256=sha, n=n, seed=seed,
        samples=images[:SHOWN_SAMPLES].copy(), clean=clean, drawn=drawn, combinations=combinations, entropy=entropy,
        bits_per_dim=bits, likelihood_note=note, memorisation=memorised, train_distance=reference,
        evaluations=int(adapter.evaluations(loaded)), ms_per_sample=float(ms),
        parameters=int(sum(p.numel() for p in loaded.model.parameters())),
        train_cpu_minutes=float(cpu_seconds) / 60 if isinstance(cpu_seconds, (int, float)) else None,
        sharpness=sharpness_ratio(images, _held_out(min(n, 1000))),
        adherence=adherent, settings=adapter.describe(loaded), copies=copies, train_copies=train_copies,
        seconds=time.perf_counter() - started,
    )
    if progress:
        progress(total, total)
    store_row(sha, n, seed, scores.to_json())
    return scores


def compare(paths: list[str | Path], n: int = 500, seed: int = 0,
            progress: Callable[[str, int, int], None] | None = None,
            should_stop: Callable[[], bool] | None = None, cache: bool = True,
            device: torch.device | str = "cpu") -> list[FamilyScores]:
    """Every checkpoint's scores, in order; `progress(name, done, total)` per checkpoint."""
    rows = []
    for path in paths:
        name = Path(path).parent.name if Path(path).name.endswith(".safetensors") else Path(path).name
        report = (lambda d, t, name=name: progress(name, d, t)) if progress else None
        rows.append(score_checkpoint(path, n, seed, report, should_stop, cache, device))
    return rows
