"""What `playground eval dalle` measures: adherence over a grid of sampling settings, CLIP reranking,
the unconditional prior's coverage, and bits per dimension against the VAE's ELBO.

- The grid: every (temperature, top-k, top-p, guidance) setting samples n images of each
  full prompt (a fixed seeded subset of the 432 captions, `text2img.evaluation.default_prompts`);
  image j of prompt p is seeded seed + p n + j at every setting, so the rows differ only by
  the setting. The attribute classifier reads each image (`text2img.evaluation.score_prompt`:
  all four right, per attribute; clean single shapes and drawn as rendered, `evaluation.judge`).
- The best setting: most all-four-right, ties by the clean share (then the grid's order);
  `--record-best` writes it into the checkpoint's JSON as extra["default_sampling"], which
  `tokens.default_settings` reads back as the sampling defaults.
- Reranking (DALL-E's recipe): at the best setting, each kept sample is the best by CLIP score
  of `rerank` candidates (the grouping of `tokens.rerank.sample_reranked`, all prompts in one batch).
- The unconditional prior: samples of the empty prompt at temperature 1 with no truncation
  (the model's own p(c)), judged: clean share and combinations covered (bar: 300 of 432 in 1000).
- Bits per dimension on held-out images: the dalle prior's bound (tokens' bits + the decoder's
  discretised-Gaussian term, `tokens.likelihood.image_bits_per_dim`) against the VAE's negative
  ELBO with the same decoder likelihood and sigma (`latent.likelihood.elbo_bits_per_dim`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from itertools import product
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..checkpoints import CheckpointMeta, record_in_extra
from ..data import to_tensor, to_uint8
from ..data.shapes import ATTRIBUTES, parse_prompt
from ..device import model_device
from ..evaluation.judge import SampleReport, classify, judge_samples
from ..latent.likelihood import elbo_bits_per_dim
from ..models.clip import CLIP
from ..models.dalle import Dalle
from ..text2img.evaluation import score_prompt, summarise
from .likelihood import DECODER_SIGMA, discretised_gaussian_bits, image_bits_per_dim
from .rerank import decode_tokens
from .rerank import rerank as rank_by_clip
from .sampling import TokenSettings, sample_tokens

COMBINATIONS = 4 * 6 * 2 * 9
BARS = {"all_correct": 0.90, "reranked_all_correct": 0.97, "clean": 0.90, "combinations": 300}


def settings_grid(temperatures: list[float], top_ks: list[int], top_ps: list[float],
                  guidances: list[float]) -> list[TokenSettings]:
    """Every combination, each checked (a bad number is a one-line ValueError before any sampling)."""
    return [TokenSettings(float(t), int(k), float(p), float(w)).checked()
            for w, t, k, p in product(guidances, temperatures, top_ks, top_ps)]


@dataclass
class SettingRow:
    """One sampling setting on the full prompts: what the classifier read off n images per prompt."""

    settings: dict[str, float | int]
    rerank: int
    prompts: int
    n: int
    all_correct: float
    accuracy: dict[str, float]
    clean: float
    drawn: float
    ms_per_image: float


@torch.no_grad()
def sample_images(model: Dalle, prompts: list[str], settings: TokenSettings, n: int, seed: int, rerank: int = 1,
                  clip: CLIP | None = None, should_stop: Callable[[], bool] | None = None) -> np.ndarray:
    """(P, n, H, W, 3) uint8: n samples of each prompt, all prompts written in one batch of rows.

    Row r (prompt r // (n rerank)) is seeded seed + r, so sample j of prompt p is the same image as
    `sample_tokens(model, p, settings, n, seed + p n)` writes (with rerank: as `rerank.sample_reranked`
    with seed + p n rerank, each kept sample CLIP's best of its `rerank` candidates)."""
    if rerank > 1 and clip is None:
        raise ValueError("reranking needs a CLIP model")
    per_prompt = n * rerank
    rows = [prompt for prompt in prompts for _ in range(per_prompt)]
    tokens = sample_tokens(model, rows, settings, seed=seed, should_stop=should_stop)
    if (tokens < 0).any():
        raise InterruptedError("stopped")
    decoded = decode_tokens(model, tokens)
    images = decoded.reshape(len(prompts), per_prompt, *decoded.shape[1:])
    if rerank > 1:
        kept = []
        for prompt, candidates in zip(prompts, images):
            _, scores = rank_by_clip(candidates.to(model_device(clip)), prompt, clip)
            best = scores.reshape(n, rerank).argmax(dim=1) + torch.arange(n) * rerank
            kept.append(candidates[best])
        images = torch.stack(kept)
    return to_uint8(images.flatten(0, 1)).reshape(len(prompts), n, *images.shape[-2:], 3)


def evaluate_setting(model: Dalle, classifier: nn.Module, prompts: list[str], settings: TokenSettings, n: int,
                     seed: int = 0, rerank: int = 1, clip: CLIP | None = None,
                     should_stop: Callable[[], bool] | None = None) -> tuple[SettingRow, np.ndarray]:
    """The row of one setting and its images (P, n, H, W, 3) (seeds: `sample_images`)."""
    started = time.perf_counter()
    images = sample_images(model, prompts, settings, n, seed, rerank, clip, should_stop)
    flat = images.reshape(-1, *images.shape[2:])
    labels, confidences = classify(classifier, flat)
    labels, confidences = labels.reshape(len(prompts), n, -1), confidences.reshape(len(prompts), n, -1)
    results = [score_prompt(prompt, settings.guidance, labels[i], confidences[i], images[i])
               for i, prompt in enumerate(prompts)]
    summary = summarise(settings.guidance, results)
    ms = (time.perf_counter() - started) * 1000 / max(len(flat), 1)
    return SettingRow(settings.to_recipe(), rerank, len(prompts), n, summary.full_all_correct, summary.full_accuracy,
                      summary.full_clean, summary.full_drawn, ms), images


def full_prompts_only(prompts: list[str]) -> list[str]:
    """The prompts that name all four attributes (the bars are on full prompts); refuses an empty list."""
    full = [p for p in prompts if all(v is not None for v in parse_prompt(p).labels)]
    if not full:
        raise ValueError("the dalle evaluation measures full prompts (all four attributes named); none given")
    return full


def best_row(rows: list[SettingRow]) -> SettingRow:
    """Most all-four-right; ties: the higher clean share, then the earlier row of the grid."""
    return max(rows, key=lambda r: (r.all_correct, r.clean))  # max keeps the first of equals


@torch.no_grad()
def unconditional_report(model: Dalle, classifier: nn.Module, n: int, seed: int = 0,
                         settings: TokenSettings = TokenSettings(guidance=0.0)) -> SampleReport:
    """n samples of the empty prompt (image i seeded seed + i), judged: clean share, combinations covered."""
    tokens = sample_tokens(model, "", settings, n, seed)
    return judge_samples(to_uint8(decode_tokens(model, tokens)), classifier)


@dataclass
class LikelihoodRow:
    """One model's bound on −log2 p(x) per dimension over the same images: its parts and the total."""

    model: str
    what: str
    sigma: float
    parts: dict[str, float]
    bits_per_dim: float
    per_image_std: float = float("nan")
    decoder_floor: float = float("nan")  # the decoder term of a perfect reconstruction at this sigma
    decoder_at_mean: float = float("nan")  # VAE only: the decoder term at z = the mean of q (not a bound)


@torch.no_grad()
def likelihood_rows(dalle: Dalle, vae: nn.Module | None, images: np.ndarray, names: tuple[str, str],
                    sigmas: tuple[float, ...] = (0.02, DECODER_SIGMA, 0.1), batch_size: int = 250,
                    vae_samples: int = 4) -> list[LikelihoodRow]:
    """The bits-per-dimension table on uint8 images: the dalle prior (empty prompt) and the VAE, at each sigma."""
    x = to_tensor(images)
    rows = []
    for sigma in sigmas:
        floor = float(discretised_gaussian_bits(x, x, sigma).mean()) / x[0].numel()
        parts = [image_bits_per_dim(dalle, x[i:i + batch_size], "", sigma) for i in range(0, len(x), batch_size)]
        tokens = torch.cat([p.token_bits_per_dim for p in parts])
        decoder = torch.cat([p.decoder_bits_per_dim for p in parts])
        total = tokens + decoder
        rows.append(LikelihoodRow(names[0], "dalle prior (empty prompt): -log2 p(tokens) - log2 p(x | decode(tokens))",
                                  sigma, {"tokens": float(tokens.mean()), "decoder": float(decoder.mean())},
                                  float(total.mean()), float(total.std()), floor))
        if vae is not None:
            elbo = [elbo_bits_per_dim(vae, x[i:i + batch_size], sigma, vae_samples, seed=i)
                    for i in range(0, len(x), batch_size)]
            kl = torch.cat([e.kl_bits_per_dim for e in elbo])
            at_mean = torch.cat([e.reconstruction_at_mean_bits_per_dim for e in elbo])
            recon = torch.cat([e.reconstruction_bits_per_dim for e in elbo])
            total = kl + recon
            rows.append(LikelihoodRow(names[1], f"VAE negative ELBO: E_q[-log2 p(x | z)] ({vae_samples} draws of z) "
                                      "+ KL(q(z|x) || N(0, I))", sigma,
                                      {"kl": float(kl.mean()), "decoder": float(recon.mean())},
                                      float(total.mean()), float(total.std()), floor, float(at_mean.mean())))
    return rows


def format_grid(rows: list[SettingRow]) -> str:
    head = "| T | top-k | top-p | w | rerank | " + " | ".join(ATTRIBUTES) + " | **all 4** | clean | drawn | ms / image |"
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        s = r.settings
        acc = " | ".join(f"{r.accuracy.get(a, float('nan')):.1%}" for a in ATTRIBUTES)
        out.append(f"| {s['temperature']:g} | {s['top_k'] or 'off'} | {s['top_p']:g} | {s['guidance']:g} | "
                   f"{r.rerank} | "
                   f"{acc} | **{r.all_correct:.1%}** | {r.clean:.1%} | {r.drawn:.1%} | {r.ms_per_image:.0f} |")
    return "\n".join(out)


def format_unconditional(report: SampleReport) -> str:
    bar = "meets" if report.n >= 1000 and report.combinations_seen >= BARS["combinations"] else "bar"
    return (f"unconditional prior (prompt \"\", temperature 1, no top-k / top-p), {report.n} samples: "
            f"{report.clean_fraction:.1%} clean, {report.drawn_as_rendered_fraction:.1%} drawn as rendered, "
            f"{report.combinations_seen} of {COMBINATIONS} combinations covered ({bar}: >= 300 of 432 in 1000 samples)")


def format_likelihood(rows: list[LikelihoodRow], n: int) -> str:
    out = [f"Bits per dimension on {n} held-out validation images (lower is better; 3 x 32 x 32 = 3072 dimensions, "
           "8-bit values). Both are upper bounds on -log2 p(x) / 3072 with the same decoder likelihood: a discretised "
           "Gaussian over each channel's 256 levels, centred on the decoder's output, std sigma in [-1, 1] units "
           "(stated, the same for both, not fitted to either model). The decoder floor is the decoder term of a "
           "perfect reconstruction at that sigma: no bound goes below it; above it, each model pays for its "
           "reconstruction error (decoder) and for its prior (tokens: the dalle's code length of the image's VQ "
           "tokens; kl: the VAE's KL term).", "",
           "| model | bound | sigma | decoder floor | parts (bits/dim) | **bits / dim** | std over images |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        parts = ", ".join(f"{k} {v:.3f}" for k, v in r.parts.items())
        what = r.what.replace("|", "\\|")  # a bar inside a Markdown cell
        out.append(f"| {r.model} | {what} | {r.sigma:g} | {r.decoder_floor:.3f} | {parts} | **{r.bits_per_dim:.3f}** | "
                   f"{r.per_image_std:.3f} |")
    verdicts = []
    for sigma in dict.fromkeys(r.sigma for r in rows):
        pair = [r for r in rows if r.sigma == sigma]
        if len(pair) == 2:
            lower = min(pair, key=lambda r: r.bits_per_dim)
            verdicts.append(f"- sigma {sigma:g}: {pair[0].model} {pair[0].bits_per_dim:.3f} vs {pair[1].model} "
                            f"{pair[1].bits_per_dim:.3f} bits/dim: {lower.model}'s bound is lower by "
                            f"{abs(pair[0].bits_per_dim - pair[1].bits_per_dim):.3f}")
    if verdicts:
        out += ["", *verdicts]
    vae_rows = [r for r in rows if r.decoder_at_mean == r.decoder_at_mean]  # not NaN: a VAE's row
    if vae_rows:
        out += ["", "The VAE's decoder term is read at z drawn from q(z|x), as the ELBO is; at z = the mean of q (the "
                "reconstruction the VAE panel shows; not a bound) it would be "
                + ", ".join(f"{r.decoder_at_mean:.3f} at sigma {r.sigma:g}" for r in vae_rows) + "."]
    return "\n".join(out)


def rows_to_json(rows: list) -> list[dict]:
    return [asdict(r) for r in rows]


def record_default_sampling(checkpoint: str | Path, settings: TokenSettings, evaluated: CheckpointMeta) -> Path:
    """Write settings into the checkpoint's JSON as extra["default_sampling"] (`checkpoints.record_in_extra`)."""
    return record_in_extra(checkpoint, evaluated, "the best settings", default_sampling=settings.checked().to_recipe())


@dataclass
class DalleEvaluation:
    """Everything `eval dalle` measured (the CLI fills it step by step and writes it as JSON)."""

    prompts: list[str]
    grid: list[SettingRow] = field(default_factory=list)
    best: SettingRow | None = None
    reranked: SettingRow | None = None
    unconditional: SampleReport | None = None
    likelihood: list[LikelihoodRow] = field(default_factory=list)

    def verdicts(self) -> list[str]:
        lines = []
        if self.best is not None:
            b = self.best
            lines.append(f"best setting {settings_text(b.settings)}: all four right {b.all_correct:.1%} (bar 90%), "
                         f"clean {b.clean:.1%} (bar 90%)")
        if self.reranked is not None:
            lines.append(f"with --rerank {self.reranked.rerank}: all four right {self.reranked.all_correct:.1%} "
                         f"(bar 97%), clean {self.reranked.clean:.1%}")
        return lines


def settings_text(settings: dict[str, float | int]) -> str:
    k = settings["top_k"]
    return (f"T {settings['temperature']:g}, top-k {k if k else 'off'}, top-p {settings['top_p']:g}, "
            f"w {settings['guidance']:g}")
