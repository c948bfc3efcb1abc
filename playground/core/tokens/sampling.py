"""Writing an image token by token with a dalle: guidance, temperature, top-k, top-p, a KV cache.

The next cell's distribution is built in three steps, each a small function:

1. `guided_logits`: classifier-free guidance on the log-probabilities (Ho & Salimans 2022,
   applied to an autoregressive prior as in Make-A-Scene / Parti):
   log p_w = log p(c | ∅) + w (log p(c | prompt) − log p(c | ∅)), renormalised;
   w = 1 is the plain conditional model, w = 0 the unconditional prior.
2. `shape_distribution`: temperature (divide the log-probs by T), then top-k (keep the k
   most likely codes), then top-p / nucleus (Holtzman et al. 2020: keep the smallest set of
   codes whose mass is >= p, always at least the most likely one), then softmax.
3. The draw: inverse CDF of one uniform per (image, cell). Image i of a run seeded S owns
   a `torch.Generator` seeded S + i that draws its N uniforms up front, so image i is the
   same whatever n (and a branch or a step with a chosen code leaves the later cells'
   uniforms where they were).

`TokenWriter` runs the transformer with a key-value cache: the prompt (and any prefix) is
read once by `model.start`, then each written token costs one position (`model.step`).
The conditional and the unconditional rows ride in one batch (2n rows) when guidance
needs both; w = 1 runs only the conditional rows, w = 0 only the unconditional ones.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import torch
from torch.nn import functional as F

from ..data.tokenizer import tokenize_batch
from ..device import model_device
from ..models.dalle import Dalle

UNWRITTEN = -1


@dataclass(frozen=True)
class TokenSettings:
    """How the next cell's distribution is shaped. top_k 0 = off, top_p 1 = off; guidance w: 0 unconditional,
    1 plain conditional, > 1 stronger."""

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    guidance: float = 1.0

    def checked(self) -> "TokenSettings":
        """Self, or ValueError with a one-line message naming the bad setting."""
        t, k, p, w = self.temperature, self.top_k, self.top_p, self.guidance
        if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
            raise ValueError(f"temperature must be a number > 0, not {t!r}")
        if not (isinstance(k, int) and not isinstance(k, bool) and k >= 0):
            raise ValueError(f"top-k must be a whole number >= 0 (0 = off), not {k!r}")
        if not (isinstance(p, (int, float)) and math.isfinite(p) and 0 < p <= 1):
            raise ValueError(f"top-p must be a number in (0, 1] (1 = off), not {p!r}")
        if not (isinstance(w, (int, float)) and math.isfinite(w)):
            raise ValueError(f"guidance must be a finite number, not {w!r}")
        return self

    def to_recipe(self) -> dict[str, float | int]:
        return {"temperature": float(self.temperature), "top_k": int(self.top_k), "top_p": float(self.top_p),
                "guidance": float(self.guidance)}

    @property
    def needs_conditional(self) -> bool:
        return self.guidance != 0

    @property
    def needs_unconditional(self) -> bool:
        return self.guidance != 1


def guided_logits(cond: torch.Tensor | None, uncond: torch.Tensor | None, w: float) -> torch.Tensor:
    """Guided log-probabilities (B, K): log_softmax(u) + w (log_softmax(c) − log_softmax(u)), renormalised.

    `uncond` may be None when w == 1 and `cond` None when w == 0."""
    if w == 1 or uncond is None:
        if cond is None:
            raise ValueError("guidance needs the conditional logits")
        return F.log_softmax(cond.float(), dim=-1)
    u = F.log_softmax(uncond.float(), dim=-1)
    if w == 0 or cond is None:
        return u
    return F.log_softmax(u + w * (F.log_softmax(cond.float(), dim=-1) - u), dim=-1)


def shape_distribution(logits: torch.Tensor, settings: TokenSettings) -> torch.Tensor:
    """Probabilities (B, K) after temperature, then top-k, then top-p (nucleus)."""
    scaled = logits.float() / settings.temperature
    k = logits.shape[-1]
    if 0 < settings.top_k < k:
        kth = scaled.topk(settings.top_k, dim=-1).values[..., -1:]
        scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    if settings.top_p < 1:
        probs = torch.softmax(scaled, dim=-1)
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        before = sorted_probs.cumsum(dim=-1) - sorted_probs  # mass of the codes more likely than this one
        drop_sorted = before >= settings.top_p  # the first code (before = 0 < p) is always kept
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        scaled = scaled.masked_fill(drop, float("-inf"))
    return torch.softmax(scaled, dim=-1)


def entropy_bits(probabilities: torch.Tensor) -> torch.Tensor:
    """(B,) entropy in bits of each row (0 log 0 = 0)."""
    p = probabilities.double()
    logs = torch.where(p > 0, p.log2(), torch.zeros_like(p))
    return (-(p * logs).sum(dim=-1)).float().clamp_min(0)


def draw(probabilities: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Inverse CDF: for each row the first code whose cumulative probability exceeds u * total (never a
    code of probability 0)."""
    p = probabilities.double()
    cdf = p.cumsum(dim=-1)
    target = uniforms.double()[:, None] * cdf[:, -1:]
    index = torch.searchsorted(cdf, target, right=True)[:, 0].clamp(max=p.shape[-1] - 1)
    empty = p.gather(-1, index[:, None])[:, 0] <= 0  # float rounding at the very top: take the last possible code
    if empty.any():
        last = p.shape[-1] - 1 - (p > 0).flip(-1).int().argmax(dim=-1)
        index = torch.where(empty, last, index)
    return index


def image_uniforms(image_seeds: Sequence[int], cells: int) -> torch.Tensor:
    """(n, cells) float64 uniforms: row i from a generator seeded image_seeds[i] (the same whatever the batch)."""
    rows = [torch.rand(cells, generator=torch.Generator().manual_seed(int(s)), dtype=torch.float64)
            for s in image_seeds]
    return torch.stack(rows) if rows else torch.zeros(0, cells, dtype=torch.float64)


def row_prompts(prompt: str | Sequence[str], n: int) -> list[str]:
    """One prompt per row: a single prompt repeated n times, or a list of n prompts."""
    prompts = [prompt] * n if isinstance(prompt, str) else list(prompt)
    if len(prompts) != n:
        raise ValueError(f"{len(prompts)} prompts for {n} images")
    return prompts


@dataclass(frozen=True)
class TokenEvent:
    """One written cell: its raster index, the codes written (n,), the distribution they were drawn from
    (n, K) under the writer's settings, and its entropy in bits (n,)."""

    position: int
    token: torch.Tensor
    probabilities: torch.Tensor
    entropy_bits: torch.Tensor


class GridPosition:
    """Where a writer of a token grid stands: `position` cells of `cells` written (its model's grid)."""

    model: Dalle
    position: int
    cells: int

    @property
    def done(self) -> bool:
        return self.position >= self.cells

    @property
    def grid_size(self) -> int:
        return self.model.config.grid_size


class TokenWriter(GridPosition):
    """Writes n images cell by cell (raster order) with a KV cache; see the module docstring.

    `tokens` (n, N) int64 holds UNWRITTEN (-1) where no code is written yet; `position` is the
    next cell. `settings` may be replaced between steps (the GUI's sliders): temperature, top-k
    and top-p never need the model again; a guidance other than the one started with needs
    both rows, so pass `live_guidance=True` to keep the conditional and unconditional rows
    whatever w is (a prompt-less writer needs only one: both are the empty prompt).
    """

    def __init__(self, model: Dalle, prompt: str | Sequence[str], settings: TokenSettings = TokenSettings(),
                 n: int | None = None, seed: int = 0, prefix: torch.Tensor | None = None, live_guidance: bool = False,
                 image_seeds: Sequence[int] | None = None):
        self.model, self.prompt, self.settings = model, prompt, settings.checked()
        n = (1 if isinstance(prompt, str) else len(prompt)) if n is None else n
        if n < 1:
            raise ValueError(f"n must be >= 1, not {n}")
        self.n, self.seed = n, seed
        self.prompts = row_prompts(prompt, n)  # row i writes prompts[i] ...
        self.image_seeds = [seed + i for i in range(n)] if image_seeds is None else [int(s) for s in image_seeds]
        if len(self.image_seeds) != n:  # ... drawing with a generator seeded image_seeds[i]
            raise ValueError(f"{len(self.image_seeds)} image seeds for {n} images")
        self.cells = model.config.image_tokens
        self.device = model_device(model)
        text = tokenize_batch(self.prompts).to(self.device)  # a bad prompt is refused before any model work
        empty = not any(p.strip() for p in self.prompts)
        self._kinds = [kind for kind, needed in (
            ("cond", live_guidance or settings.needs_conditional or empty),
            ("uncond", (live_guidance or settings.needs_unconditional) and not empty)) if needed]
        self.tokens = torch.full((n, self.cells), UNWRITTEN, dtype=torch.int64)
        start = 0 if prefix is None else int(prefix.shape[1])
        if prefix is not None:
            if prefix.shape[0] != n or start > self.cells:
                raise ValueError(f"the prefix must be (n, <= {self.cells}), not {tuple(prefix.shape)}")
            if start and (prefix.min() < 0 or prefix.max() >= model.config.codebook_size):
                raise ValueError(f"prefix codes must be 0..{model.config.codebook_size - 1}")
            self.tokens[:, :start] = prefix.cpu()
        self.position = start
        self.uniforms = image_uniforms(self.image_seeds, self.cells)
        self._cache = None
        self._raw: dict[str, torch.Tensor] = {}
        if not self.done:
            rows = [text if kind == "cond" else model.null_text(n, self.device) for kind in self._kinds]
            head = self.tokens[:, :start].to(self.device)
            with torch.inference_mode():
                logits, self._cache = model.start(torch.cat(rows), head.repeat(len(rows), 1) if start else None)
            self._split(logits)

    def _split(self, logits: torch.Tensor) -> None:
        empty = not any(p.strip() for p in self.prompts)
        self._raw = {kind: part.float().cpu() for kind, part in zip(self._kinds, logits.split(self.n))}
        if empty:  # the empty prompt is both rows
            self._raw["uncond"] = self._raw["cond"]

    def raw_logits(self, guidance: float | None = None) -> torch.Tensor:
        """The guided log-probs (n, K) of the next cell at `guidance` (default: the settings'); no model call."""
        if self.done:
            raise ValueError("every cell is written")
        w = self.settings.guidance if guidance is None else guidance
        cond, uncond = self._raw.get("cond"), self._raw.get("uncond")
        if (w != 0 and cond is None) or (w != 1 and uncond is None):
            raise ValueError(f"guidance {w:g} needs rows this writer does not run; start it with live_guidance=True")
        return guided_logits(cond, uncond, w)

    def distribution(self, settings: TokenSettings | None = None) -> torch.Tensor:
        """Probabilities (n, K) of the next cell under `settings` (default: the writer's); no model call."""
        settings = (settings or self.settings).checked()
        return shape_distribution(self.raw_logits(settings.guidance), settings)

    def step(self, chosen: torch.Tensor | None = None) -> TokenEvent:
        """Write the next cell: drawn with each image's own uniform, or `chosen` (n,) codes."""
        if self.done:
            raise ValueError("every cell is written")
        probabilities = self.distribution()
        if chosen is None:
            token = draw(probabilities, self.uniforms[:, self.position])
        else:
            token = torch.as_tensor(chosen, dtype=torch.int64).reshape(-1).cpu()
            if token.shape[0] != self.n or token.min() < 0 or token.max() >= self.model.config.codebook_size:
                raise ValueError(f"chosen must be {self.n} codes in 0..{self.model.config.codebook_size - 1}")
        position = self.position
        self.tokens[:, position] = token
        self.position += 1
        if not self.done:
            with torch.inference_mode():
                logits = self.model.step(token.to(self.device).repeat(len(self._kinds)), self._cache)
            self._split(logits)
        return TokenEvent(position, token, probabilities, entropy_bits(probabilities))

    def branch(self, position: int, code: int, row: int = 0, settings: TokenSettings | None = None,
               live_guidance: bool = False) -> "TokenWriter":
        """A new one-image writer: image `row`'s cells before `position` kept, `code` written at `position`,
        continuing from there with image `row`'s prompt and own uniforms (its image seed)."""
        if not 0 <= row < self.n:
            raise ValueError(f"row must be 0..{self.n - 1}, not {row}")
        if not 0 <= position <= min(self.position, self.cells - 1):
            raise ValueError(f"a branch starts at a written cell or the next one (0..{min(self.position, self.cells - 1)}), "
                             f"not {position}")
        if not 0 <= code < self.model.config.codebook_size:
            raise ValueError(f"code must be 0..{self.model.config.codebook_size - 1}, not {code}")
        prefix = torch.cat([self.tokens[row, :position], torch.tensor([code])])[None]
        return TokenWriter(self.model, self.prompts[row], settings or self.settings, n=1, seed=self.image_seeds[row],
                           prefix=prefix, live_guidance=live_guidance)

    def written_mask(self) -> torch.Tensor:
        """(n, g, g) True where a code is written."""
        return (self.tokens != UNWRITTEN).reshape(self.n, self.grid_size, self.grid_size)

    def images(self) -> torch.Tensor:
        """(n, 3, H, W) in [-1, 1] decoded from the cells written so far.

        Unwritten cells are shown as empty canvas: they hold the background code (`background_code`,
        the code the VQ model gives a blank shapes background), so the picture is what the written
        tokens draw on an empty page; `written_mask()` tells a view which cells to mark as not yet
        written. (The decoder is convolutional: a written cell next to unwritten ones may look a little
        different once its neighbours are written.)
        """
        filled = torch.where(self.tokens == UNWRITTEN, background_code(self.model), self.tokens)
        with torch.inference_mode():
            return self.model.decode(filled.to(self.device)).cpu()

    def run(self, progress: Callable[[TokenEvent], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> torch.Tensor:
        """Write every remaining cell; `should_stop` is asked before each token (stop within one token).
        Returns the tokens (n, N), UNWRITTEN where a stop left cells unwritten."""
        while not self.done:
            if should_stop is not None and should_stop():
                break
            event = self.step()
            if progress is not None:
                progress(event)
        return self.tokens.clone()


_background: "weakref.WeakKeyDictionary[Dalle, int]" = weakref.WeakKeyDictionary()


def background_code(model: Dalle) -> int:
    """The code the model's VQ stage gives the most cells of a blank shapes background image."""
    from ..data.shapes import BACKGROUND

    if model not in _background:
        size = model.config.image_size
        colour = torch.tensor(BACKGROUND, dtype=torch.float32) / 127.5 - 1
        blank = colour[None, :, None, None].expand(1, 3, size, size).to(model_device(model))
        _background[model] = int(model.encode(blank).flatten().mode().values)
    return _background[model]


def sample_tokens(model: Dalle, prompt: str | Sequence[str], settings: TokenSettings, n: int | None = None, seed: int = 0,
                  progress: Callable[[TokenEvent], None] | None = None,
                  should_stop: Callable[[], bool] | None = None, batch: int = 64,
                  image_seeds: Sequence[int] | None = None) -> torch.Tensor:
    """n token grids (n, N) for a prompt (or one prompt per row: a list of n); image i is the same whatever n
    (see the module docstring).

    Written `batch` images at a time (image i's draw depends on its prompt and its image seed only: seed + i,
    or image_seeds[i]). Stopped early (`should_stop`), the cells not yet written hold UNWRITTEN."""
    n = (1 if isinstance(prompt, str) else len(prompt)) if n is None else n
    prompts = row_prompts(prompt, n)
    seeds = [seed + i for i in range(n)] if image_seeds is None else list(image_seeds)
    chunks = []
    for start in range(0, n, batch):
        stopped = should_stop is not None and should_stop()
        if stopped:
            chunks.append(torch.full((min(batch, n - start), model.config.image_tokens), UNWRITTEN, dtype=torch.int64))
            continue
        rows = slice(start, start + batch)
        writer = TokenWriter(model, prompts[rows], settings, n=len(prompts[rows]), image_seeds=seeds[rows])
        chunks.append(writer.run(progress, should_stop))
    return torch.cat(chunks)


def with_settings(settings: TokenSettings, **changes) -> TokenSettings:
    """A copy of settings with some fields changed, checked."""
    return replace(settings, **changes).checked()
