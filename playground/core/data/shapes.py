"""The built-in "shapes" data set, rendered exactly as `shared/specs/shapes.md` says.

Everything here is deterministic from a seed: the same seed gives the same images,
captions and labels on every machine, so training, GUI, command line and evaluation
all mean the same thing by "a large red circle at the top left".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

IMAGE_SIZE = 32
SUPERSAMPLE = 4
BACKGROUND = (18, 18, 18)

SHAPES = ("circle", "square", "triangle", "plus")
COLORS = ("red", "green", "blue", "yellow", "purple", "cyan")
COLOR_RGB = {
    "red": (230, 50, 50),
    "green": (50, 190, 70),
    "blue": (50, 90, 230),
    "yellow": (235, 210, 50),
    "purple": (160, 70, 200),
    "cyan": (50, 200, 210),
}
SIZES = ("small", "large")
SIZE_EXTENT = {"small": 9, "large": 16}
POSITIONS = (
    "top left", "top", "top right",
    "left", "center", "right",
    "bottom left", "bottom", "bottom right",
)
GRID_CENTRES = (9, 16, 23)
ATTRIBUTES = ("shape", "color", "size", "position")
ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {
    "shape": SHAPES, "color": COLORS, "size": SIZES, "position": POSITIONS,
}
VOCABULARY = (
    "a", "at", "the", "small", "large", "red", "green", "blue", "yellow", "purple", "cyan",
    "circle", "square", "triangle", "plus", "top", "bottom", "left", "right", "center",
)
N_CAPTIONS = len(SHAPES) * len(COLORS) * len(SIZES) * len(POSITIONS)


@dataclass(frozen=True)
class ShapeSpec:
    """One drawn shape: its attribute labels and the jittered geometry actually drawn."""

    shape: int
    color: int
    size: int
    position: int
    cx: float
    cy: float
    extent: float

    @property
    def labels(self) -> tuple[int, int, int, int]:
        return (self.shape, self.color, self.size, self.position)

    @property
    def caption(self) -> str:
        return caption_for(self.labels)


def position_centre(position: int) -> tuple[int, int]:
    """Grid centre (x, y) of a position index, row by row from the top left."""
    return GRID_CENTRES[position % 3], GRID_CENTRES[position // 3]


def caption_for(labels: tuple[int, int, int, int] | np.ndarray) -> str:
    shape, color, size, position = (int(v) for v in labels)
    return f"a {SIZES[size]} {COLORS[color]} {SHAPES[shape]} at the {POSITIONS[position]}"


def draw_specs(n: int, seed: int) -> list[ShapeSpec]:
    """Draw n shapes' attributes and jitter uniformly at random, deterministically from seed."""
    rng = np.random.default_rng(seed)
    shape = rng.integers(0, len(SHAPES), n)
    color = rng.integers(0, len(COLORS), n)
    size = rng.integers(0, len(SIZES), n)
    position = rng.integers(0, len(POSITIONS), n)
    jitter = rng.integers(-1, 2, (n, 3))  # size, x, y: each -1, 0 or +1 px
    specs = []
    for i in range(n):
        gx, gy = position_centre(int(position[i]))
        specs.append(ShapeSpec(
            shape=int(shape[i]), color=int(color[i]), size=int(size[i]), position=int(position[i]),
            cx=float(gx + jitter[i, 1]), cy=float(gy + jitter[i, 2]),
            extent=float(SIZE_EXTENT[SIZES[int(size[i])]] + jitter[i, 0]),
        ))
    return specs


def shape_mask(spec: ShapeSpec, supersample: int = SUPERSAMPLE) -> np.ndarray:
    """Coverage mask at `supersample`x resolution, sampled at high-res pixel centres.

    Coordinates are continuous in 32-px units with 0 at the top-left corner of the image,
    so the grid centre 16 is the exact middle of the picture.
    """
    n = IMAGE_SIZE * supersample
    coords = (np.arange(n) + 0.5) / supersample
    x = coords[None, :]
    y = coords[:, None]
    dx, dy, s = x - spec.cx, y - spec.cy, spec.extent
    kind = SHAPES[spec.shape]
    if kind == "circle":
        return dx**2 + dy**2 <= (s / 2) ** 2
    if kind == "square":
        half = 0.8 * s / 2
        return (np.abs(dx) <= half) & (np.abs(dy) <= half)
    if kind == "triangle":
        # apex (cx, cy - s/2), base from (cx - s/2, cy + s/2) to (cx + s/2, cy + s/2)
        top, bottom = spec.cy - s / 2, spec.cy + s / 2
        frac = (y - top) / s  # 0 at the apex, 1 at the base
        return (y >= top) & (y <= bottom) & (np.abs(dx) <= frac * s / 2)
    if kind == "plus":
        half_len, half_thick = s / 2, s / 6
        horizontal = (np.abs(dx) <= half_len) & (np.abs(dy) <= half_thick)
        vertical = (np.abs(dx) <= half_thick) & (np.abs(dy) <= half_len)
        return horizontal | vertical
    raise ValueError(f"unknown shape {kind!r}")


def shape_coverage(spec: ShapeSpec) -> np.ndarray:
    """The share of each 32x32 pixel the shape covers: drawn at 4x, then box-filtered down."""
    mask = shape_mask(spec).astype(np.float32)
    return mask.reshape(IMAGE_SIZE, SUPERSAMPLE, IMAGE_SIZE, SUPERSAMPLE).mean(axis=(1, 3))


def render(spec: ShapeSpec) -> np.ndarray:
    """Render one 32x32x3 uint8 image: the shape colour blended over the background by coverage."""
    coverage = shape_coverage(spec)
    fg = np.array(COLOR_RGB[COLORS[spec.color]], np.float32)
    bg = np.array(BACKGROUND, np.float32)
    image = bg + coverage[..., None] * (fg - bg)
    return np.round(image).astype(np.uint8)


@dataclass(frozen=True)
class ShapesBatch:
    images: np.ndarray  # (N, 32, 32, 3) uint8
    labels: np.ndarray  # (N, 4) int64: shape, color, size, position
    captions: list[str]


def generate(n: int, seed: int = 0) -> ShapesBatch:
    """Generate n images with their labels and full captions."""
    specs = draw_specs(n, seed)
    images = np.stack([render(s) for s in specs]) if specs else np.zeros((0, 32, 32, 3), np.uint8)
    labels = np.array([s.labels for s in specs], np.int64).reshape(n, 4)
    return ShapesBatch(images=images, labels=labels, captions=[s.caption for s in specs])


# --- prompts -------------------------------------------------------------------------


class PromptError(ValueError):
    """A prompt that is not in the shapes language; the message names the problem."""


@dataclass(frozen=True)
class Prompt:
    """A parsed prompt: each attribute an index into its value list, or None when left open."""

    shape: int | None = None
    color: int | None = None
    size: int | None = None
    position: int | None = None

    @property
    def labels(self) -> tuple[int | None, int | None, int | None, int | None]:
        return (self.shape, self.color, self.size, self.position)

    @property
    def is_unconditional(self) -> bool:
        return all(v is None for v in self.labels)

    def text(self) -> str:
        """The canonical spelling of this prompt ("" for unconditional)."""
        words = []
        if self.size is not None:
            words.append(SIZES[self.size])
        if self.color is not None:
            words.append(COLORS[self.color])
        if self.shape is not None:
            words.append(SHAPES[self.shape])
        if self.position is not None:
            words.extend(["at the", POSITIONS[self.position]])
        return " ".join(words)


_POSITION_WORDS = {"top", "bottom", "left", "right", "center"}


def parse_prompt(text: str) -> Prompt:
    """Parse a prompt in the spec's order: [a] [size] [color] [shape] [at the] [position].

    Case-insensitive, extra spaces ignored. Unknown words, attributes out of order or
    named twice, and word runs that are no position all raise PromptError.
    """
    words = re.split(r"\s+", text.strip().lower()) if text.strip() else []
    for word in words:
        if word not in VOCABULARY:
            raise PromptError(
                f"unknown word {word!r} in prompt {text!r}; "
                f"the vocabulary is: {', '.join(VOCABULARY)}"
            )
    found: dict[str, int] = {}
    stage = 0  # index into ATTRIBUTES of the next attribute allowed
    position_words: list[str] = []
    for word in words:
        if word in ("a", "at", "the"):
            continue
        if word in _POSITION_WORDS:
            position_words.append(word)
            stage = len(ATTRIBUTES)
            continue
        attribute = next(a for a in ("size", "color", "shape") if word in ATTRIBUTE_VALUES[a])
        order = {"size": 0, "color": 1, "shape": 2}[attribute]
        if attribute in found:
            raise PromptError(f"prompt {text!r} names the {attribute} twice")
        if order < stage:
            raise PromptError(
                f"{word!r} is out of order in {text!r}; write size, colour, shape, then position "
                "(e.g. 'a large red circle at the top left')"
            )
        found[attribute] = ATTRIBUTE_VALUES[attribute].index(word)
        stage = order + 1
    position = None
    if position_words:
        name = " ".join(position_words)
        if name not in POSITIONS:
            raise PromptError(
                f"{name!r} is not a position; positions are: {', '.join(POSITIONS)}"
            )
        position = POSITIONS.index(name)
    return Prompt(
        shape=found.get("shape"), color=found.get("color"), size=found.get("size"),
        position=position,
    )
