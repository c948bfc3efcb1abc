"""Every number a user gives the app, checked against its real range.

One module for the command line and the window. Each range is a small object that is both
an argparse `type=` (the text typed after `--n` is refused with argparse's one line
"argument --n: must be a whole number from 1 to 1024, not 0" and exit code 2) and a check
for a value the GUI or a recipe holds (`sample_count.check(value, "--n")` raises a
`RangeError`, a ValueError whose message names the option and the range). Ranges known only
once a model is loaded, such as steps up to the length of its noise schedule, are checked
with `check_steps`.

NaN, infinities, text, booleans and fractions where a whole number is due are refused
everywhere; so are numbers too large to mean anything (a seed past what every seed box
holds, more samples than one batch can hold).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Callable

SEED_MAX = 2**31 - 1   # what the window's seed boxes hold (Qt spin boxes are 32-bit): every recipe loads there
MAX_SAMPLES = 1024     # samples of one run: they are drawn as one batch, in memory together
MAX_SCALE = 16         # nearest-neighbour upscaling of a picture: 32 px -> 512 px
MAX_THREADS = 1024
INFINITY = math.inf


class RangeError(ValueError):
    """A number outside its range; str() names the option and the allowed range."""


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


@dataclass(frozen=True)
class IntRange:
    """Whole numbers from `low` to `high` (inclusive; None: no upper bound)."""

    low: int
    high: int | None = None
    why: str = ""  # appended to the message, e.g. "the model's noise schedule has 1000 steps"

    def describe(self) -> str:
        span = f">= {_fmt(self.low)}" if self.high is None else f"from {_fmt(self.low)} to {_fmt(self.high)}"
        return f"a whole number {span}" + (f" ({self.why})" if self.why else "")

    def check(self, value: Any, name: str) -> int:
        """`value` as an int; RangeError "NAME must be a whole number from A to B, not V" otherwise."""
        number = _whole(value)
        if number is None or number < self.low or (self.high is not None and number > self.high):
            raise RangeError(f"{name} must be {self.describe()}, not {_shown(value)}")
        return number

    def __call__(self, text: str) -> int:
        """argparse `type=`: argparse prefixes the message with "argument --name:"."""
        return _as_argument(self.check, text)


@dataclass(frozen=True)
class FloatRange:
    """Finite numbers from `low` to `high`; an open end excludes its bound."""

    low: float = -INFINITY
    high: float = INFINITY
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        if math.isinf(self.high):
            span = "finite number " + (f"above {_fmt(self.low)}" if self.low_open else f">= {_fmt(self.low)}")
            return "a " + span if not math.isinf(self.low) else "a finite number"
        excluded = [_fmt(b) for b, is_open in ((self.low, self.low_open), (self.high, self.high_open)) if is_open]
        return f"a number from {_fmt(self.low)} to {_fmt(self.high)}" + (
            f" ({' and '.join(excluded)} excluded)" if excluded else "")

    def contains(self, x: float) -> bool:
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return math.isfinite(x) and above and below

    def check(self, value: Any, name: str) -> float:
        """`value` as a float; RangeError naming `name` and the range otherwise (NaN and inf included)."""
        number = _real(value)
        if number is None or not self.contains(number):
            raise RangeError(f"{name} must be {self.describe()}, not {_shown(value)}")
        return number

    def __call__(self, text: str) -> float:
        return _as_argument(self.check, text)


@dataclass(frozen=True)
class NumberList:
    """A comma-separated list of numbers, each in `item`'s range (e.g. guidance scales "0,1,3")."""

    item: FloatRange

    def check(self, value: Any, name: str) -> tuple[float, ...]:
        parts = [p.strip() for p in str(value).split(",")] if isinstance(value, str) else list(value)
        parts = [p for p in parts if p != ""]
        if not parts:
            raise RangeError(f"{name} must be a comma-separated list of numbers, each {self.item.describe()}; "
                             f"got nothing")
        return tuple(self.item.check(p, f"every entry of {name}" if name else "every entry") for p in parts)

    def __call__(self, text: str) -> tuple[float, ...]:
        return _as_argument(self.check, text)


def _shown(value: Any) -> str:
    """A refused value as the user gave it: typed text as typed, anything else as Python writes it."""
    text = (value if value.strip() else "nothing") if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    if isinstance(value, Real) and math.isfinite(value) and float(value).is_integer():
        return int(value)  # 50.0 from a JSON recipe
    return None


def _real(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    if isinstance(value, Real):
        try:
            return float(value)
        except OverflowError:  # an integer beyond any float (10**400 in a hand-edited recipe)
            return None
    return None


def _as_argument(check: Callable[[Any, str], Any], text: str) -> Any:
    try:
        return check(text, "")
    except RangeError as exc:
        raise argparse.ArgumentTypeError(str(exc).lstrip()) from None


# --- the app's ranges, by what they count (use as `type=checks.sample_count`) ----------------

positive_int = IntRange(1)
non_negative_int = IntRange(0)
positive_float = FloatRange(0.0, low_open=True)
seed = IntRange(0, SEED_MAX)
sample_count = IntRange(1, MAX_SAMPLES)
batch_size = IntRange(1, MAX_SAMPLES)
upscale = IntRange(1, MAX_SCALE)
threads = IntRange(1, MAX_THREADS)
fraction = FloatRange(0.0, 1.0)            # guidance start/stop
eta = FloatRange(0.0, 1.0)                 # DDIM: 0 deterministic, 1 as noisy as DDPM
guidance_scale = FloatRange(0.0, 50.0)     # classifier-free w: 0 unconditional, 1 conditional
classifier_scale = FloatRange(0.0, 100.0)  # classifier guidance s
temperature = FloatRange(0.0, 10.0)        # prior noise scale: 0 is the prior's mean, 10 far off its shell
guidance_scales = NumberList(guidance_scale)
frames = IntRange(2, 256)                  # an interpolation strip: both ends and the frames between
map_points = IntRange(2, 20_000)           # a PCA map needs two points; 20,000 is the shapes data set
picture_side = IntRange(128, 4096)         # pixels of a drawn chart or map


def steps_for(schedule_length: int) -> IntRange:
    """Inference steps a model with a T-step noise schedule can run: 1..T."""
    return IntRange(1, int(schedule_length), why=f"the model's noise schedule has {schedule_length} steps")


def check_steps(steps: Any, schedule_length: int, name: str = "--steps") -> int:
    return steps_for(schedule_length).check(steps, name)


def check_seed_span(seed: int, n: int, name: str = "--seed") -> int:
    """Image i of a run is seeded seed + i: the last image's seed must be a seed too."""
    if seed + n - 1 > SEED_MAX:
        raise RangeError(f"{name} {seed} with {n} images seeds the last one {seed + n - 1}, past {SEED_MAX} "
                         f"(image i is seeded seed + i); use a seed of at most {SEED_MAX - n + 1}")
    return seed


def check_number(name: str, value: Any, low: float, high: float, integer: bool = False) -> float:
    """A value the app holds (a setting, a recipe's field) as a number within [low, high]; a RangeError
    naming `name` and the range otherwise. Unlike the argparse path, text is refused: a recipe
    whose "w" is "3" was edited by hand."""
    if isinstance(value, str):
        kind = "a whole number" if integer else "a number"
        raise RangeError(f"{name} must be {kind} from {_fmt(low)} to {_fmt(high)}, not the text {value!r}")
    if integer:
        return IntRange(int(low), None if math.isinf(high) else int(high)).check(value, name)
    return FloatRange(low, high).check(value, name)
