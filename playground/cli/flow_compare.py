"""`playground flow-compare --seed S --steps 1,2,5,10,20,50 --out cmp.png`: flow vs diffusion.

The same initial latent noise through DDPM and DDIM (the dit) and the flow ODE, Euler and Heun
(the sit), at each number of steps: the final samples side by side (samplers down, steps across)
in one PNG carrying its recipe, and each run's straightness printed (what the window's
"Latent & flow" tab shows; core/latent_diffusion/comparison.py).
"""

from __future__ import annotations

import argparse

from ..core import checks
from ..core.assets import open_model
from ..core.data.shapes import parse_prompt
from ..core.device import pick_device
from ..core.images import save_png
from ..core.latent_diffusion import default_guidance
from ..core.latent_diffusion.comparison import (MAX_STEPS, SAMPLER_FAMILIES, SPACINGS, SWEEP_STEPS, steps_sweep,
                                                 straightness_table, sweep_picture, sweep_recipe)

steps_count = checks.IntRange(1, MAX_STEPS)


def steps_list(text: str) -> tuple[int, ...]:
    """A comma-separated list of step counts, each 1..100 (argparse type)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(
            f"must be a comma-separated list of step counts, each {steps_count.describe()}")
    try:
        return tuple(sorted({steps_count.check(p, "every entry of --steps") for p in parts}))
    except checks.RangeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser("flow-compare", help="the same noise through DDPM, DDIM (dit) and the flow ODE (sit)")
    sub.add_argument("--seed", type=checks.seed, default=0, help="the seed of the shared initial noise")
    sub.add_argument("--steps", type=steps_list, default=SWEEP_STEPS,
                     help="comma-separated numbers of steps, each 1 to 100 (default 1,2,5,10,20,50)")
    sub.add_argument("--samplers", default=",".join(SAMPLER_FAMILIES),
                     help=f"comma-separated, of {', '.join(SAMPLER_FAMILIES)} (default: all)")
    sub.add_argument("--spacing", choices=SPACINGS, default="leading",
                     help="DDPM/DDIM step placement: leading (default, as the samplers: a short run starts below "
                          "t = T) or trailing (from t = T - 1, pure noise; an epsilon model's x0 blows up there)")
    sub.add_argument("--prompt", default="", help='guide every run toward a prompt ("" = unconditional, the default)')
    sub.add_argument("--guidance", type=checks.guidance_scale, default=None, metavar="W",
                     help="classifier-free w with --prompt (default: the sit checkpoint's best)")
    sub.add_argument("--dit", help="dit checkpoint (default: the shipped one)")
    sub.add_argument("--sit", help="sit checkpoint (default: the shipped one)")
    sub.add_argument("--out", required=True, help="PNG: final samples, samplers down, steps across")
    sub.add_argument("--scale", type=checks.upscale, default=4)
    sub.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")
    sub.add_argument("--device", default="auto")
    sub.set_defaults(run=run)


def _samplers(text: str) -> list[str]:
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in names if s not in SAMPLER_FAMILIES]
    if unknown or not names:
        raise ValueError(f"--samplers {text!r}: choose from {', '.join(SAMPLER_FAMILIES)}")
    return [s for s in SAMPLER_FAMILIES if s in names]  # display order


def run(args: argparse.Namespace) -> int:
    import torch

    samplers = _samplers(args.samplers)
    if args.prompt:
        parse_prompt(args.prompt)  # a bad prompt is one line, before anything loads
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    families = sorted({SAMPLER_FAMILIES[s] for s in samplers})
    loaded = {f: open_model(getattr(args, f), (f,), device) for f in families}
    for model in loaded.values():
        schedule = model.model.noise_schedule
        longest = getattr(schedule, "intervals", schedule.num_train_timesteps)  # a flow of K intervals runs 1..K steps
        for n in args.steps:
            checks.check_steps(n, longest, "--steps")
    main = loaded.get("sit") or loaded["dit"]
    w = args.guidance if args.guidance is not None else default_guidance(main.meta.extra)
    if not args.prompt:
        w = 1.0
    sweep = steps_sweep({f: m.model for f, m in loaded.items()}, args.steps, args.seed, samplers=samplers,
                        prompt=args.prompt, guidance_scale=w, spacing=args.spacing)
    recipe = sweep_recipe(loaded, sweep, seed=args.seed, prompt=args.prompt, guidance_scale=w, spacing=args.spacing,
                          scale=args.scale)
    save_png(args.out, sweep_picture(sweep, args.scale), recipe)
    print(straightness_table(sweep))
    print(f"wrote {args.out}")
    return 0
