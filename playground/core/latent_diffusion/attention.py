"""Attention maps of the latent denoisers: where each latent cell looks, at one step of a run.

Cross-attention (ldm, dit, sit): every latent cell's query reads the prompt's 8 token
embeddings (Rombach et al. 2022, sec. 3.3; PixArt-alpha for the transformer). Row q of a
layer's softmax says how cell q shares its attention among the tokens, so column j, laid
out on the cell grid, is the map of prompt token j: where the model puts that word
(prompt-to-prompt, Hertz et al. 2022, reads the same maps). Self-attention (every family):
row q on the key grid is where cell q looks in the image itself.

Recording switches the attention modules to an explicit softmax that keeps its weights
(`keep_attention`, the same numbers as the fused kernel up to rounding) for one model
evaluation; the sampler itself runs on the fused kernel. A run is sampled with
classifier-free guidance as usual; at step K the conditional branch alone is evaluated again
with recording on (the guided prediction mixes two evaluations, and only the conditional
one reads the prompt).

Grids: a U-Net attends at several resolutions (8x8 and 4x4 for the shipped ldm); a DiT at
its token grid (4x4 for 2x2 patches of the 8x8 latent). Maps come out on the finest grid
of the layers shown (`AttentionMaps.side`): a coarse layer's cell covers f x f fine cells.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator, Literal, Sequence

import numpy as np
import torch
from torch import nn

from ..checks import check_number
from ..data.shapes import parse_prompt
from ..device import model_device
from ..diffusion.guidance import prompt_embedding, reads_free_text
from ..text2img.sampling import GuidedSettings, guided_steps, to_images
from . import is_latent

AttentionKind = Literal["cross", "self"]
KINDS: tuple[str, ...] = ("cross", "self")


def prompt_words(prompt: str, model: nn.Module | None = None) -> tuple[str, ...]:
    """The words the prompt's tokens stand for, in token order (its canonical spelling: "a" is
    dropped, "Red  CIRCLE" is "red circle"); context positions past them are padding, not words.
    A model with its own tokenizer (diffusers): its tokens, the start marker first (column j is token j)."""
    if reads_free_text(model):
        return tuple(model.token_strings(prompt)) if prompt.strip() else ()
    return tuple(parse_prompt(prompt).text().split())


def attention_layers(model: nn.Module, kind: AttentionKind) -> list[tuple[str, nn.Module]]:
    """(name, module) of every self- or cross-attention layer, in the order the input meets them."""
    if kind not in KINDS:
        raise ValueError(f"the attention kind is 'cross' or 'self', not {kind!r}")
    if hasattr(model, "attention_modules"):  # dit, sit: one of each per block
        return [(f"block {i + 1}", module) for i, module in enumerate(model.attention_modules(kind))]
    net = getattr(model, "net", None)
    layers = []
    for part in ("down", "mid", "up"):  # ldm: the U-Net's stages that attend
        stages = [getattr(stage, "attn" if kind == "self" else "cross") for stage in getattr(net, part, ())]
        stages = [module for module in stages if module is not None]
        for i, module in enumerate(stages):
            layers.append((part if len(stages) == 1 else f"{part} {i + 1}", module))
    if not layers:
        raise ValueError(f"this {getattr(model.config, 'family', 'model')} model has no {kind}-attention layers"
                         + (" over prompt words (it reads a pooled prompt embedding)" if kind == "cross" else ""))
    return layers


@contextlib.contextmanager
def recording(modules: Sequence[nn.Module]) -> Iterator[None]:
    """Modules keep their attention weights inside the block; afterwards they drop them and run fused again."""
    for module in modules:
        module.keep_attention = True
    try:
        yield
    finally:
        for module in modules:
            module.keep_attention = False
            module.last_attention = None


@dataclass(frozen=True)
class AttentionLayer:
    name: str
    weights: np.ndarray  # (heads, queries, keys) float32: each row a softmax, summing to 1

    @property
    def grid(self) -> int:
        """Query cells per side (the queries are the cells of a square grid, row-major)."""
        return int(round(self.weights.shape[1] ** 0.5))

    @property
    def heads(self) -> int:
        return self.weights.shape[0]


@dataclass(frozen=True)
class AttentionMaps:
    """One evaluation's attention weights, per layer and head, and the prompt's words (token j is word j)."""

    kind: str
    layers: tuple[AttentionLayer, ...]
    words: tuple[str, ...]
    t: int

    @property
    def side(self) -> int:
        """Cells per side of the maps: the finest query grid among the layers."""
        return max(layer.grid for layer in self.layers)

    @property
    def heads(self) -> int:
        return max(layer.heads for layer in self.layers)

    def _chosen(self, layer: int | None) -> list[AttentionLayer]:
        if layer is None:
            return list(self.layers)
        check_number("the layer", layer, 0, len(self.layers) - 1, integer=True)
        return [self.layers[layer]]

    def _rows(self, chosen: AttentionLayer, head: int | None) -> np.ndarray:
        if head is None:
            return chosen.weights.mean(0)
        check_number("the head", head, 0, chosen.heads - 1, integer=True)
        return chosen.weights[head]

    def word_map(self, word: int, layer: int | None = None, head: int | None = None) -> np.ndarray:
        """(side, side): the share of each cell's attention that goes to word `word` (0..1), averaged
        over the heads and layers unless one is chosen."""
        if self.kind != "cross":
            raise ValueError("word maps come from cross-attention")
        check_number("the word", word, 0, max(len(self.words) - 1, 0), integer=True)
        if not self.words:
            raise ValueError("an empty prompt has no words to attend to")
        maps = [self._to_side(self._rows(chosen, head)[:, word].reshape(chosen.grid, chosen.grid), 1.0)
                for chosen in self._chosen(layer)]
        return np.mean(maps, axis=0)

    def cell_map(self, row: int, col: int, layer: int | None = None, head: int | None = None) -> np.ndarray:
        """(side, side): where cell (row, col) looks (self-attention); sums to 1. A coarse layer's
        weight of one key cell is spread evenly over the fine cells it covers."""
        if self.kind != "self":
            raise ValueError("cell maps come from self-attention")
        check_cell(row, col, self.side)
        maps = []
        for chosen in self._chosen(layer):
            g, f = chosen.grid, self.side // chosen.grid
            query = (row // f) * g + col // f
            key_grid = self._rows(chosen, head)[query].reshape(g, g)
            maps.append(self._to_side(key_grid, 1.0 / (f * f)))
        return np.mean(maps, axis=0)

    def _to_side(self, grid_map: np.ndarray, weight: float) -> np.ndarray:
        f = self.side // grid_map.shape[0]
        return np.repeat(np.repeat(grid_map, f, 0), f, 1) * weight


def check_cell(row: int, col: int, side: int, name: str = "the cell") -> tuple[int, int]:
    check_number(f"the row of {name}", row, 0, side - 1, integer=True)
    check_number(f"the column of {name}", col, 0, side - 1, integer=True)
    return int(row), int(col)


def cell_side(model: nn.Module) -> int:
    """Cells per side of a model's maps (`AttentionMaps.side`), known before any evaluation: a DiT's
    token grid (the latent's side over the patch size), a U-Net's latent side (it attends at full size too)."""
    config = model.config
    return int(getattr(config, "grid", config.latent_size))


def attention_maps(model: nn.Module, x_t: torch.Tensor, t: int | torch.Tensor, cond: torch.Tensor | None,
                   kind: AttentionKind = "cross", words: Sequence[str] = ()) -> AttentionMaps:
    """Evaluate `model(x_t, t, cond)` once (one image) and keep every `kind` layer's attention weights."""
    layers = attention_layers(model, kind)
    device = model_device(model)
    x = x_t.to(device, torch.float32)[:1]
    t_batch = torch.as_tensor(t, device=device).reshape(-1)[:1].expand(1).long()
    with recording([module for _, module in layers]), torch.inference_mode():
        model(x, t_batch, cond=None if cond is None else cond[:1].to(device))
        weights = [module.last_attention[0].float().cpu().numpy() for _, module in layers]
    return AttentionMaps(kind, tuple(AttentionLayer(name, w) for (name, _), w in zip(layers, weights)),
                         tuple(words), int(t_batch[0]))


# --- a guided run, kept so that any of its steps can be looked at ---------------------------------


def check_settings(model: nn.Module, settings: GuidedSettings) -> GuidedSettings:
    """`settings` as the model runs them (`GuidedSettings.for_model`: a sampler that fits it, x0 never
    clipped, no classifier guidance); bad input is refused here, before any model call."""
    if not is_latent(model):
        raise ValueError("attention maps are drawn for the latent denoisers (ldm, dit, sit); a pixel "
                         "text-to-image model reads its prompt as one pooled embedding, with no attention over words")
    return settings.for_model(model)


@dataclass(frozen=True)
class AttentionRun:
    """A guided run's x_t and t at every step (latents: 1 KiB a step) and the image it ends at."""

    settings: GuidedSettings
    words: tuple[str, ...]
    timesteps: tuple[int, ...]
    states: tuple[torch.Tensor, ...]    # x_t (1, C, H, W) at each step, on the CPU
    pred_x0: tuple[torch.Tensor, ...]   # the guided prediction of the clean latent at each step
    final: np.ndarray                   # (H, W, 3) uint8: the decoded sample

    @property
    def num_steps(self) -> int:
        return len(self.timesteps)

    def check_step(self, step: int) -> int:
        return int(check_number("the step", step, 0, self.num_steps - 1, integer=True))


def sample_run(model: nn.Module, settings: GuidedSettings,
               on_step: Callable[[int, int], None] | None = None) -> AttentionRun:
    """Sample one image (seeded settings.seed) with guidance, keeping every step's x_t.
    `on_step(done, total)` is called after each step (it may raise to stop the run)."""
    settings = check_settings(model, settings)
    states, pred_x0, timesteps, record = [], [], [], None
    for record in guided_steps(model, settings):
        states.append(record.x_t)
        pred_x0.append(record.pred_x0)
        timesteps.append(record.t)
        if on_step is not None:
            on_step(record.index + 1, record.num_steps)
    final = to_images(model, record.x_prev)[0]
    return AttentionRun(settings, prompt_words(settings.prompt, model), tuple(timesteps), tuple(states), tuple(pred_x0), final)


def run_maps(model: nn.Module, run: AttentionRun, step: int, kind: AttentionKind = "cross") -> AttentionMaps:
    """The attention of the conditional branch at step `step` (0 = the noisiest) of a run."""
    step = run.check_step(step)
    if kind == "cross" and not run.words:
        raise ValueError("an empty prompt has no words to attend to: give a prompt, or look at self-attention")
    cond = prompt_embedding(model, run.settings.prompt or None)
    return attention_maps(model, run.states[step], run.timesteps[step], cond, kind, run.words)


def maps_at_step(model: nn.Module, settings: GuidedSettings, step: int,
                 kind: AttentionKind = "cross") -> tuple[AttentionMaps, AttentionRun]:
    """Sample the run `settings` describe and read its attention at `step` (checked before sampling)."""
    settings = check_settings(model, settings)
    check_number("the step", step, 0, len(settings.make_scheduler(model).timesteps) - 1, integer=True)
    if kind == "cross" and not prompt_words(settings.prompt, model):
        raise ValueError("an empty prompt has no words to attend to: give a prompt, or look at self-attention")
    attention_layers(model, kind)  # a model without such layers is refused before sampling
    run = sample_run(model, settings)
    return run_maps(model, run, step, kind), run
