"""The seeds' table of strengths and weaknesses, each claim checked against the measured rows.

Every claim is a sentence, the numbers that bear on it, and a verdict by a stated rule:
"holds", "does not hold", "mixed" (a claim of several parts, some holding) or "not measured"
(a family it names is not on the page, or the number was not recorded). A claim of several
parts (e.g. "sharp but unstable") is judged on the parts measured; a part nothing here can
measure (training stability, feature quality) is named in the numbers and left out of the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .report import FamilyScores

HOLDS, FAILS, MIXED, UNMEASURED = "holds", "does not hold", "mixed", "not measured"
VERDICTS = (HOLDS, FAILS, MIXED, UNMEASURED)
DIFFUSION = ("ddpm", "text2img", "ldm", "dit", "sit")
AUTOREGRESSIVE = ("dalle",)
ONE_PASS = ("ae", "dae", "vae", "gan", "vqvae")
TIMING_MARGIN = 1.5  # ms per sample differing by less than this factor is not told apart


@dataclass(frozen=True)
class ClaimVerdict:
    claim: str     # the seeds' sentence
    numbers: str   # the measured numbers that bear on it
    verdict: str   # one of VERDICTS
    rule: str      # how the verdict is decided


@dataclass(frozen=True)
class Claim:
    sentence: str
    rule: str
    check: Callable[[dict[str, FamilyScores]], tuple[str, list[bool | None]]]  # -> (numbers, part verdicts)


def _pct(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _known(x: float | None) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _combine(parts: list[bool | None]) -> str:
    measured = [p for p in parts if p is not None]
    if not measured:
        return UNMEASURED
    if all(measured):
        return HOLDS
    return FAILS if not any(measured) else MIXED


def _ae(rows):
    ae, vae = rows.get("ae"), rows.get("vae")
    if ae is None or vae is None:
        return "needs the ae and the vae", [None]
    dae = rows.get("dae")
    numbers = (f"clean: ae {_pct(ae.clean)} vs vae {_pct(vae.clean)}"
               + (f" (dae {_pct(dae.clean)})" if dae else "")
               + f"; combinations ae {ae.combinations} vs vae {vae.combinations}; features: not measured here")
    return numbers, [ae.clean < vae.clean and ae.clean < 0.5]


def _vae_gan(measure: str):
    def check(rows):
        vae, gan = rows.get("vae"), rows.get("gan")
        if vae is None or gan is None:
            return "needs the vae and the gan", [None]
        if measure == "diverse":
            return (f"{vae.combinations} vs {gan.combinations} combinations of 432",
                    [vae.combinations > gan.combinations])
        if measure == "blurry":
            if not (_known(vae.sharpness) and _known(gan.sharpness)):
                return "sharpness not measured", [None]
            return (f"sharpness vs the data: vae {vae.sharpness:.2f}, gan {gan.sharpness:.2f}",
                    [vae.sharpness < gan.sharpness])
        ratio = vae.ms_per_sample / max(gan.ms_per_sample, 1e-9)
        within_noise = 1 / TIMING_MARGIN <= ratio <= TIMING_MARGIN  # timings on a shared CPU vary this much
        return (f"{vae.ms_per_sample:.2f} vs {gan.ms_per_sample:.2f} ms per sample; "
                f"{vae.evaluations} vs {gan.evaluations} evaluations" + ("; within timing noise" if within_noise else ""),
                [True, False] if within_noise else [ratio > 1])
    return check


def _gan(rows):
    gan = rows.get("gan")
    if gan is None:
        return "needs the gan", [None]
    others = [r for f, r in rows.items() if f != "gan"]
    sharp = [r.sharpness for r in others if _known(r.sharpness)]
    entropy = sum(gan.entropy.values())
    parts: list[bool | None] = [gan.sharpness >= max(sharp) * 0.95 if sharp and _known(gan.sharpness) else None]
    median_combos = sorted(r.combinations for r in others)[len(others) // 2] if others else None
    parts.append(gan.combinations < median_combos if median_combos is not None else None)
    numbers = (f"sharpness {gan.sharpness:.2f} (sharpest other {max(sharp):.2f})" if sharp else "sharpness n/a")
    numbers += (f"; {gan.combinations} combinations (median of the others {median_combos}), "
                f"attribute entropy {entropy:.2f} bits; stability: not measured (one checkpoint)")
    return numbers, parts


def _autoregressive(rows):
    ar = [rows[f] for f in AUTOREGRESSIVE if f in rows]
    if not ar:
        return "needs the dalle", [None]
    model = ar[0]
    others = [r for f, r in rows.items() if f not in AUTOREGRESSIVE]
    minutes = [r.train_cpu_minutes for r in others if r.train_cpu_minutes is not None]
    cost: bool | None = None
    numbers = f"{model.name}: "
    if model.train_cpu_minutes is not None and minutes:
        cost = model.train_cpu_minutes >= sorted(minutes)[len(minutes) // 2]
        numbers += f"{model.train_cpu_minutes:.0f} CPU min to train (median recorded other {sorted(minutes)[len(minutes) // 2]:.0f}); "
    else:
        numbers += "training CPU minutes not recorded; "
    one_pass = [r.ms_per_sample for f, r in rows.items() if f in ONE_PASS]
    slow = model.ms_per_sample > max(one_pass) if one_pass else None
    numbers += (f"{model.ms_per_sample:.1f} ms and {model.evaluations} evaluations per sample"
                + (f" (one-pass models at most {max(one_pass):.2f} ms)" if one_pass else ""))
    return numbers, [cost, slow]


def _diffusion(rows):
    diffusion = {f: r for f, r in rows.items() if f in DIFFUSION}
    others = {f: r for f, r in rows.items() if f not in DIFFUSION}
    if not diffusion or not others:
        return "needs a diffusion model and another family", [None]
    best = max(diffusion.values(), key=lambda r: r.clean)
    rival = max(others.values(), key=lambda r: r.clean)
    steps = min(r.evaluations for r in diffusion.values())
    cheapest = min(others.values(), key=lambda r: r.evaluations)
    numbers = (f"best clean: {best.family} {_pct(best.clean)} vs {rival.family} {_pct(rival.clean)}; "
               f"evaluations per sample: diffusion {steps} or more, {cheapest.family} {cheapest.evaluations}")
    return numbers, [best.clean >= rival.clean, steps >= 10 * max(1, cheapest.evaluations)]


def _likelihood(rows):
    bits = {f: r.bits_per_dim for f, r in rows.items() if r.bits_per_dim is not None}
    vae = bits.get("vae")
    better = {f: b for f, b in bits.items() if f in AUTOREGRESSIVE + DIFFUSION}
    if vae is None or not better:
        return "bits per dimension not measured for the vae and an autoregressive or diffusion model", [None]
    best = min(better, key=better.get)
    gan = rows.get("gan")
    numbers = (f"bits/dim: {', '.join(f'{f} {b:.3f}' for f, b in sorted(bits.items(), key=lambda x: x[1]))}"
               + (f"; gan: {gan.likelihood_note}" if gan else ""))
    return numbers, [better[best] < vae]


CLAIMS: tuple[Claim, ...] = (
    Claim("The AE's features are weak and its samples poor.",
          "holds when the AE's clean share is below the VAE's and below 50% (features are not measured here)", _ae),
    Claim("The VAE is more diverse than the GAN.", "holds when the VAE covers more combinations", _vae_gan("diverse")),
    Claim("The VAE is blurrier than the GAN.",
          "holds when the VAE's samples are less sharp (gradient magnitude against the data's)", _vae_gan("blurry")),
    Claim("The VAE is slower than the GAN.", "holds when the VAE takes over 1.5x the ms per sample; mixed within 1.5x (timing noise)", _vae_gan("slow")),
    Claim("The GAN is sharp but unstable and collapses to few modes.",
          "sharp: within 5% of the sharpest other family; collapse: fewer combinations than the others' median; "
          "stability is not measured", _gan),
    Claim("Autoregressive models are costly to train and slow to sample.",
          "costly: training CPU minutes at or above the median of the others recorded; slow: more ms per sample "
          "than every one-pass model", _autoregressive),
    Claim("Diffusion gives the best quality but needs many steps.",
          "best: a diffusion model has the highest clean share; many steps: at least 10x the evaluations of "
          "the cheapest other family", _diffusion),
    Claim("Likelihood models are ranked by bits per dimension: the autoregressive prior's exact NLL and the "
          "diffusion bound beat the VAE's ELBO; a GAN has none.",
          "holds when an autoregressive or diffusion model has fewer bits/dim than the VAE", _likelihood),
)


def by_family(scores: list[FamilyScores]) -> dict[str, FamilyScores]:
    """One row per family: the first of each (the shipped default comes first in `compare`)."""
    rows: dict[str, FamilyScores] = {}
    for s in scores:
        rows.setdefault(s.family, s)
    return rows


def check_claims(scores: list[FamilyScores]) -> list[ClaimVerdict]:
    rows = by_family(scores)
    verdicts = []
    for claim in CLAIMS:
        numbers, parts = claim.check(rows)
        verdicts.append(ClaimVerdict(claim.sentence, numbers, _combine(parts), claim.rule))
    return verdicts
