"""How a family is trained from a command line: its arguments and how they build its task.

Each family's task module defines one `TrainRecipe`; `registry.py` lists them, one line
each. The CLI's `playground train` and the GUI's Train panel both read them from here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any, Callable

from .loop import TrainingTask


@dataclass(frozen=True)
class TrainRecipe:
    """How a family is trained: its own arguments, how they make its task, and its defaults."""

    add_arguments: Callable[[argparse.ArgumentParser], None]
    make_task: Callable[[argparse.Namespace], TrainingTask]
    defaults: dict[str, Any] = field(default_factory=dict)  # TrainConfig overrides
    sizes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # model size name -> its arguments (GUI)


def int_list(text: str) -> tuple[int, ...]:
    """"16,32,64" -> (16, 32, 64), with a message naming the value when it is not a list of positive ints."""
    try:
        values = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        raise ValueError(f"{text!r} is not a comma-separated list of whole numbers (e.g. 16,32,64)") from None
    if not values or any(v < 1 for v in values):
        raise ValueError(f"{text!r}: every entry must be a whole number of at least 1")
    return values
