"""Attention maps as pictures: a heat map blended over the decoded image, and the labelled strip
`playground attention` writes (the window's Attention tab draws its overlay with the same function);
`render_attention` draws that strip again from its recipe (`playground reproduce`)."""

from __future__ import annotations

import numpy as np

from ..checkpoints import LoadedModel
from ..images import labelled_grid
from ..provenance import RecipeError, RecipeFields
from ..text2img.sampling import GuidedSettings
from .attention import KINDS, AttentionMaps, attention_layers, cell_side, maps_at_step

# a perceptually ordered dark-to-bright scale (close to matplotlib's "inferno"): value -> RGB
HEAT_STOPS = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
HEAT_COLORS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]], dtype=np.float64)
OVERLAY_ALPHA = 0.65
CELL_OUTLINE = np.array([80, 220, 255], dtype=np.uint8)
PICTURE_SCALE = 8  # a 32 px tile becomes 256 px in the written strip


def heat_colors(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] (any shape) -> uint8 RGB (..., 3) on the heat scale (values outside are clipped)."""
    v = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, 1.0)
    channels = [np.interp(v, HEAT_STOPS, HEAT_COLORS[:, c]) for c in range(3)]
    return np.round(np.stack(channels, axis=-1)).astype(np.uint8)


def overlay(image: np.ndarray, cell_map: np.ndarray, vmax: float | None = None,
            cell: tuple[int, int] | None = None, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """The map (side, side) as a heat map over the image (H, W, 3) uint8: each cell covers its block
    of pixels (H / side per side), 0 dark to `vmax` (default: the map's own maximum) bright.
    `cell` outlines that cell (the one whose attention a self-attention map shows)."""
    h, w, _ = image.shape
    side = cell_map.shape[0]
    if h % side or w % side:
        raise ValueError(f"a {side}x{side} map does not tile a {h}x{w} image")
    peak = float(cell_map.max()) if vmax is None else float(vmax)
    heat = heat_colors(cell_map / peak if peak > 0 else np.zeros_like(cell_map))
    heat = np.repeat(np.repeat(heat, h // side, 0), w // side, 1).astype(np.float64)
    out = (1 - alpha) * image.astype(np.float64) + alpha * heat
    out = np.round(out).astype(np.uint8)
    if cell is not None:
        fy, fx = h // side, w // side
        top, left = cell[0] * fy, cell[1] * fx
        out[top, left:left + fx] = out[top + fy - 1, left:left + fx] = CELL_OUTLINE
        out[top:top + fy, left] = out[top:top + fy, left + fx - 1] = CELL_OUTLINE
    return np.ascontiguousarray(out)


def word_overlays(maps: AttentionMaps, image: np.ndarray, layer: int | None = None,
                  head: int | None = None) -> list[np.ndarray]:
    """One overlay per prompt word, on one shared scale (the brightest cell of any word): a faint map
    is a word that draws little attention, not one stretched to look like the others."""
    word_maps = [maps.word_map(i, layer, head) for i in range(len(maps.words))]
    vmax = max(float(m.max()) for m in word_maps)
    return [overlay(image, m, vmax) for m in word_maps]


def attention_picture(maps: AttentionMaps, image: np.ndarray, *, layer: int | None = None, head: int | None = None,
                      cell: tuple[int, int] | None = None, scale: int = PICTURE_SCALE) -> np.ndarray:
    """The strip `playground attention` writes: the sample, then one tile per prompt word (cross-attention),
    or the chosen cell's map in each layer and their mean (self-attention; `layer` shows that one only)."""
    if maps.kind == "cross":
        tiles = word_overlays(maps, image, layer, head)
        labels = list(maps.words)
    else:
        if cell is None:
            raise ValueError("a self-attention picture needs the cell whose attention it shows")
        chosen = [layer] if layer is not None else list(range(len(maps.layers))) + [None]
        tiles = [overlay(image, maps.cell_map(*cell, layer=i, head=head), cell=cell) for i in chosen]
        labels = [maps.layers[i].name if i is not None else "mean of layers" for i in chosen]
    marked = image if cell is None else overlay(image, np.zeros((maps.side, maps.side)), cell=cell, alpha=0.0)
    row = f"t={maps.t}" + ("" if head is None else f" h{head + 1}")
    return labelled_grid(np.stack([marked] + tiles)[None], ["sample"] + labels, [row], scale=scale)


def render_attention(recipe: dict, loaded: LoadedModel) -> np.ndarray:
    """The strip a recipe of picture "attention" describes: its run sampled again, its step's maps drawn again."""
    fields = RecipeFields(recipe)
    model = loaded.model
    try:
        settings = GuidedSettings.from_recipe(recipe, model=model).for_model(model)
    except ValueError as exc:
        raise RecipeError(f"the recipe's settings: {exc}") from None
    kind = fields.choice("attention", KINDS)
    layers = attention_layers(model, kind)
    step = fields.integer("step", 0, len(settings.make_scheduler(model).timesteps) - 1)
    layer = fields.integer("layer", 1, len(layers), default=None)
    head = fields.integer("head", 1, layers[0][1].heads, default=None)
    cell = None
    if kind == "self":
        cell = tuple(fields.integers("cell", 0, cell_side(model) - 1))
        if len(cell) != 2:
            raise RecipeError(f"the recipe's 'cell' must be [row, column], not {list(cell)}")
    maps, run = maps_at_step(model, settings, step, kind)
    return attention_picture(maps, run.final, layer=None if layer is None else layer - 1,
                             head=None if head is None else head - 1, cell=cell,
                             scale=fields.scale(default=PICTURE_SCALE))
