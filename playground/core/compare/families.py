"""How each generative family is sampled for the comparison: one `SampleAdapter` per family.

Every adapter reuses its family's own sampler (nothing is re-implemented here):

    vae, ae, dae, gan   z ~ N(0, I) through the decoder/generator (`latent.sampling.sample_prior`);
                        the AE and the DAE have no prior of their own: this is the AE's (noise decoded)
    vqvae, vqgan        token grids drawn cell by cell from the codebook usage the checkpoint recorded
                        (`codebook.render.unigram_tokens`): no learned prior
    dalle               tokens written one by one (`tokens.sampling.sample_tokens`): the empty prompt at
                        T 1 (no top-k/top-p) for the unconditional samples; its recorded best settings
                        for adherence
    ddpm                DDIM-50, x0 clipped (`text2img.report.evaluation_settings`)
    text2img            its evaluation default (DDIM-25) and the empty prompt; best w for adherence
    ldm, dit, sit       their defaults (DDIM-50, Heun-10 for sit) and the w their JSON records as best

Image i of a run is drawn from seed + i wherever the family's sampler allows it (every family
but the vqvae's unigram draw, which is seeded per batch), so two runs with one seed agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..checkpoints import LoadedModel

Progress = Callable[[int, int], None]
StopCheck = Callable[[], bool]
BATCH = 50  # samples per batch: progress and Stop are checked between batches


@dataclass(frozen=True)
class SampleAdapter:
    """How the comparison samples one family.

    `sample(loaded, n, seed, progress, should_stop)` -> uint8 (n, H, W, 3) unconditional samples;
    `evaluations(loaded)` -> network evaluations per sample at the settings `describe` names (for a
    prompted model: its best settings, guidance included); `prompted(loaded, prompts, n, seed,
    should_stop)` -> uint8 (len(prompts), n, H, W, 3) at the best settings (prompt-conditioned only)."""

    sample: Callable[..., np.ndarray]
    evaluations: Callable[[LoadedModel], int]
    conditional: bool
    describe: Callable[[LoadedModel], str]
    prompted: Callable[..., np.ndarray] | None = None


def batched(draw: Callable[[int, int], np.ndarray], n: int, seed: int, progress: Progress | None,
            should_stop: StopCheck | None, batch: int = BATCH) -> np.ndarray:
    """`draw(count, first_seed)` over batches; InterruptedError when `should_stop()` turns true."""
    chunks = []
    for start in range(0, n, batch):
        if should_stop is not None and should_stop():
            raise InterruptedError("stopped")
        chunks.append(draw(min(batch, n - start), seed + start))
        if progress is not None:
            progress(start + len(chunks[-1]), n)
    return np.concatenate(chunks) if chunks else np.zeros((0, 32, 32, 3), np.uint8)


# --- latent-variable models: vae, ae, dae, gan --------------------------------------------------------


def _prior(loaded, n, seed, progress=None, should_stop=None):
    from ..latent.sampling import sample_prior

    return batched(lambda k, s: sample_prior(loaded.model, k, s)[0], n, seed, progress, should_stop)


def _latent_adapter(what: str) -> SampleAdapter:
    return SampleAdapter(_prior, lambda loaded: 1, False, lambda loaded: what)


# --- vqvae: the unigram prior over codes ---------------------------------------------------------------


def _unigram(loaded, n, seed, progress=None, should_stop=None):
    from ..codebook.analysis import decode_tokens
    from ..codebook.render import unigram_tokens

    return batched(lambda k, s: decode_tokens(loaded.model, unigram_tokens(loaded, k, s)), n, seed, progress,
                   should_stop)


# --- dalle: tokens one by one --------------------------------------------------------------------------


def _dalle_unconditional():
    from ..tokens import FALLBACK_SETTINGS

    return replace(FALLBACK_SETTINGS, temperature=1.0, top_k=0, top_p=1.0, guidance=1.0)


def _dalle_best(loaded):
    from ..tokens import default_settings

    return default_settings(loaded.meta.extra)


def _dalle_sample(loaded, n, seed, progress=None, should_stop=None):
    from ..tokens.render import decode_alone
    from ..tokens.sampling import sample_tokens

    settings = _dalle_unconditional()
    return batched(lambda k, s: decode_alone(loaded.model, sample_tokens(loaded.model, "", settings, k, s)),
                   n, seed, progress, should_stop)


def _dalle_prompted(loaded, prompts, n, seed, should_stop=None):
    from ..tokens.render import decode_alone
    from ..tokens.sampling import sample_tokens

    rows = [p for p in prompts for _ in range(n)]
    tokens = sample_tokens(loaded.model, rows, _dalle_best(loaded), len(rows), seed, should_stop=should_stop)
    if should_stop is not None and should_stop():
        raise InterruptedError("stopped")
    return decode_alone(loaded.model, tokens).reshape(len(prompts), n, *loaded_shape(loaded))


def _dalle_evaluations(loaded):
    best = _dalle_best(loaded)
    return loaded.model.config.image_tokens * (2 if best.needs_conditional and best.needs_unconditional else 1)


def _dalle_describe(loaded):
    best = _dalle_best(loaded)
    return (f"{loaded.model.config.image_tokens} tokens one by one; unconditional: empty prompt, T 1; "
            f"prompts: T {best.temperature:g}, top-k {best.top_k}, top-p {best.top_p:g}, w {best.guidance:g}")


def loaded_shape(loaded) -> tuple[int, int, int]:
    size = loaded.model.config.image_size
    return (size, size, 3)


# --- diffusion: ddpm, text2img, ldm, dit, sit ----------------------------------------------------------


def _diffusion_settings(loaded, seed: int = 0):
    """The settings a diffusion family is evaluated at: `eval text2img`'s defaults and, for a prompted
    model, the guidance scale its JSON records as best."""
    from ..latent_diffusion import LATENT_FAMILIES, default_guidance
    from ..latent_diffusion.sampling import default_settings
    from ..text2img.report import evaluation_settings

    if loaded.family in LATENT_FAMILIES:
        return default_settings(loaded, seed=seed)
    settings = evaluation_settings(loaded.family, seed=seed)
    if loaded.family == "text2img":
        settings = settings.replace(guidance_scale=default_guidance(loaded.meta.extra))
    return settings


def _diffusion_sample(loaded, n, seed, progress=None, should_stop=None):
    from ..text2img.evaluation import sample_prompts

    def draw(k, s):
        settings = _diffusion_settings(loaded, s)
        return sample_prompts(loaded.model, [""], 0.0, k, settings.replace(negative_prompt=""),
                              should_stop=should_stop)[0]

    return batched(draw, n, seed, progress, should_stop)


def _diffusion_prompted(loaded, prompts, n, seed, should_stop=None):
    from ..text2img.evaluation import sample_prompts

    settings = _diffusion_settings(loaded, seed)
    return sample_prompts(loaded.model, list(prompts), settings.guidance_scale, n, settings, should_stop=should_stop)


def _diffusion_evaluations(loaded):
    settings = _diffusion_settings(loaded)
    per_step = 2 if settings.sampler == "heun" else 1
    steps = settings.steps * per_step - (1 if settings.sampler == "heun" else 0)  # Heun's last step lands once
    guided = loaded.family != "ddpm" and settings.guidance_scale not in (0.0, 1.0)
    return steps * (2 if guided else 1)


def _diffusion_describe(loaded):
    settings = _diffusion_settings(loaded)
    sampler = f"{settings.sampler.upper() if settings.sampler in ('ddpm', 'ddim') else settings.sampler.title()}-{settings.steps}"
    if loaded.family == "ddpm":
        return f"{sampler}, x0 clipped"
    return f"{sampler}; unconditional: the empty prompt; prompts: w {settings.guidance_scale:g}"


_DIFFUSION = SampleAdapter(_diffusion_sample, _diffusion_evaluations, True, _diffusion_describe, _diffusion_prompted)

# family -> adapter: one line each; a family without one is listed as "no sampler" and skipped
ADAPTERS: dict[str, SampleAdapter] = {
    "ae": _latent_adapter("z ~ N(0, I) decoded (an AE has no prior: this is noise through its decoder)"),
    "dae": _latent_adapter("z ~ N(0, I) decoded (the AE's prior: noise through the decoder)"),
    "vae": _latent_adapter("z ~ N(0, I) decoded (the prior)"),
    "gan": _latent_adapter("z ~ N(0, I) through the generator"),
    "vqvae": SampleAdapter(_unigram, lambda loaded: 1, False,
                           lambda loaded: "token grids drawn cell by cell from the codebook usage (unigram prior)"),
    "vqgan": SampleAdapter(_unigram, lambda loaded: 1, False,
                           lambda loaded: "token grids drawn cell by cell from the codebook usage (unigram prior)"),
    "dalle": SampleAdapter(_dalle_sample, _dalle_evaluations, True, _dalle_describe, _dalle_prompted),
    "ddpm": replace(_DIFFUSION, conditional=False, prompted=None),
    "text2img": _DIFFUSION,
    "ldm": _DIFFUSION,
    "dit": _DIFFUSION,
    "sit": _DIFFUSION,
}


def adapter_for(family: str) -> SampleAdapter:
    """The family's adapter; ValueError naming the families that have one."""
    if family not in ADAPTERS:
        raise ValueError(f"no sampler for the {family} family in the comparison; it compares {', '.join(ADAPTERS)}")
    return ADAPTERS[family]


def compared_checkpoints() -> list:
    """The shipped checkpoints the comparison measures: every family with an adapter, trained on the
    shapes (one data set, one yardstick), in family order with each family's default first (the claims
    read one row per family). `playground compare` and the Compare tab list these."""
    from ..assets import DEFAULT_CHECKPOINTS, list_shipped

    shipped = [c for c in list_shipped() if c.meta.family in ADAPTERS and c.meta.data == "shapes"]
    shipped.sort(key=lambda c: (list(ADAPTERS).index(c.meta.family), c.name != DEFAULT_CHECKPOINTS.get(c.meta.family)))
    return shipped
