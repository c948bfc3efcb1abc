"""The pictures a dalle exports, drawn again from their recipes (`playground reproduce`).

- "sample": one image; its recipe carries its token grid (`tokens`, g x g), the prompt and the
  settings that drew it (and, reranked, the CLIP score and the clip checkpoint). It is drawn
  again by decoding the tokens alone (the CLI decodes each sample alone too: the same pixels).
- "grid": the CLI's n samples tiled (`grid_of` holds the settings, not the tokens): they are
  drawn again (same prompt, settings, seed, rerank), then decoded one by one.
"""

from __future__ import annotations


import numpy as np
import torch

from .. import checks
from ..checkpoints import LoadedModel, load_checkpoint
from ..data import to_uint8
from ..data.shapes import parse_prompt
from ..device import model_device
from ..images import make_grid, upscale
from ..provenance import RecipeError, RecipeFields, helper_checkpoint
from . import rerank_count
from .sampling import TokenSettings, sample_tokens



def decode_alone(model, tokens: torch.Tensor) -> np.ndarray:
    """(B, H, W, 3) uint8 of token sequences (B, N), each decoded in a batch of its own (a batch's
    composition changes the last bits of a convolution; alone, a sample decodes the same anywhere)."""
    device = model_device(model)
    with torch.inference_mode():
        return np.concatenate([to_uint8(model.decode(t[None].to(device))) for t in tokens.reshape(len(tokens), -1)])


def settings_from(fields: RecipeFields) -> TokenSettings:
    """The recipe's sampling settings, each checked (a hand-edited one is refused naming its key)."""
    settings = TokenSettings(temperature=fields.number("temperature", 0.0, 1e6), top_k=fields.integer("top_k", 0, 1 << 20),
                             top_p=fields.number("top_p", 0.0, 1.0), guidance=fields.number("guidance", -1e6, 1e6))
    try:
        return settings.checked()
    except ValueError as exc:
        raise RecipeError(f"the recipe's settings: {exc}") from None


def prompt_from(fields: RecipeFields) -> str:
    prompt = fields.text("prompt", default="")
    try:
        parse_prompt(prompt)
    except ValueError as exc:
        raise RecipeError(f"the recipe's 'prompt': {exc}") from None
    return prompt


def clip_for(recipe: dict, device: torch.device) -> LoadedModel:
    """The clip checkpoint a reranked recipe names if it is there, else the shipped one."""
    return load_checkpoint(helper_checkpoint(recipe, "clip"), device=device, families=("clip",))


def _sample(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    config = loaded.model.config
    g, k = config.grid_size, config.codebook_size
    tokens = torch.from_numpy(fields.int_grid("tokens", (g, g), 0, k - 1))
    return upscale(decode_alone(loaded.model, tokens[None])[0], fields.scale(default=1))


def _grid(fields: RecipeFields, loaded: LoadedModel) -> np.ndarray:
    inner, n = fields.mapping("grid_of"), fields.within("n", checks.sample_count)
    settings, prompt = settings_from(inner), prompt_from(inner)
    rerank = inner.within("rerank", rerank_count, default=1)
    seed = inner.seed(count=n * rerank)
    model = loaded.model
    if rerank > 1:
        from .rerank import sample_reranked

        clip = clip_for(inner.recipe, model_device(model))
        tokens = sample_reranked(model, clip.model, prompt, settings, n, rerank, seed).tokens
    else:
        tokens = sample_tokens(model, prompt, settings, n, seed)
    return upscale(make_grid(decode_alone(model, tokens)), fields.scale())


def render(recipe: dict, loaded: LoadedModel) -> np.ndarray:
    """The picture a dalle recipe describes, (H, W, 3) uint8."""
    fields = RecipeFields(recipe)
    picture = fields.choice("picture", ("sample", "grid"))
    return _sample(fields, loaded) if picture == "sample" else _grid(fields, loaded)
