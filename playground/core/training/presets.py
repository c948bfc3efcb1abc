"""Named training presets: a family and the `playground train` options that make one kind of run.

`demo` is a run for a live demo: a model learning something visible in a minute or two on a
two-core CPU (the default VAE run takes about 8 minutes). Its fixed-noise samples go from grey
fog to coloured blobs to shapes while the room watches. The Train panel's "Live demo" button
and `playground train vae --preset demo --out DIR` read the same entry here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrainPreset:
    name: str
    family: str
    title: str
    options: dict[str, str] = field(default_factory=dict)  # `playground train` option -> value
    preview_every: int = 100  # steps between two fixed-noise previews in the Train panel
    budget_seconds: int = 120  # the run should show its point within this on a 2-core CPU
    note: str = ""

    @property
    def steps(self) -> int:
        return int(self.options["--steps"])

    def arguments(self) -> list[str]:
        """The options as a `playground train FAMILY` argument list (without --out and --device)."""
        return [part for option, value in self.options.items() for part in (option, value)]


PRESETS: dict[str, TrainPreset] = {
    "demo": TrainPreset(
        name="demo", family="vae", title="Live demo",
        options={"--steps": "1200", "--batch-size": "64", "--lr": "0.003", "--latent-dim": "8",
                 "--channels": "8,16,32", "--precision": "fp32", "--data-size": "4000", "--checkpoint-every": "1200"},
        preview_every=50, budget_seconds=120,
        # measured (one torch thread, as the Train panel runs on 2 cores): 11.8 steps per CPU second, 1200 steps
        # in 105 s; fixed-noise samples: grey blobs at 200 steps, coloured shapes by 600, plus signs, triangles
        # and circles at 1200 (the attribute classifier confident on 45% of 64, 13-20% clean single shapes)
        note="a small VAE on shapes: its fixed-noise samples turn from grey fog into coloured shapes in about "
             "1200 steps, under two minutes on one CPU core",
    ),
}


def find_preset(name: str, family: str | None = None) -> TrainPreset:
    """The preset called `name` (for `family`, if given); a one-line ValueError naming the choices."""
    preset = PRESETS.get(name)
    if preset is None:
        raise ValueError(f"no train preset {name!r}; presets: {', '.join(PRESETS)}")
    if family is not None and preset.family != family:
        raise ValueError(f"the {name!r} preset trains a {preset.family}: playground train {preset.family} --preset {name}")
    return preset


class PresetAction(argparse.Action):
    """`--preset NAME`: the preset's options become this run's, except those given on the command line
    (an option given before --preset keeps its value; one given after it wins anyway)."""

    def __call__(self, parser, namespace, value, option_string=None):
        try:
            preset = find_preset(value, self.const)  # const: the family this parser trains
        except ValueError as exc:
            parser.error(str(exc))
        setattr(namespace, self.dest, value)
        for option, text in preset.options.items():
            action = parser._option_string_actions[option]  # argparse keeps no public map of them
            if getattr(namespace, action.dest, None) == action.default:
                setattr(namespace, action.dest, action.type(text) if action.type else text)
