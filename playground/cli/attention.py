"""`playground attention ldm|dit|sit --prompt P --seed S --step K --out maps.png`: where the latent cells look.

Samples the run (the checkpoint's default sampler and guidance unless told otherwise) and, at
step K (0 = the noisiest), evaluates the conditional branch again with its attention weights kept.
`--kind cross` (default): one tile per prompt word, the share of each cell's attention that goes to
it, on one scale for all words. `--kind self --cell ROW,COL`: where that cell looks, in each layer
and averaged. Heads are averaged unless `--head` picks one; layers unless `--layer` picks one. The
PNG carries its recipe (the run's settings, step, kind, layer, head, cell).
"""

from __future__ import annotations

import argparse

from ..core import checks
from ..core.diffusion.schedulers import FLOW_KINDS, SCHEDULER_KINDS
from .sample_latent_diffusion import settings_from_args
from .sample_text2img import add_guidance_schedule_arguments

FAMILIES = ("ldm", "dit", "sit")


def cell_argument(text: str) -> tuple[int, int]:
    """argparse `type=` for ROW,COL (two whole numbers)."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2 or not all(p.lstrip("-").isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"a cell is ROW,COL (two whole numbers, 0,0 at the top left), not {text!r}")
    return int(parts[0]), int(parts[1])


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("attention", help="attention maps of a latent denoiser at one step (cross: per "
                                                   "prompt word; self: where a cell looks)")
    families = parser.add_subparsers(dest="family", metavar="FAMILY", required=True)
    for family in FAMILIES:
        sub = families.add_parser(family, help=f"attention maps of a {family}")
        sub.add_argument("--prompt", default="", help='e.g. "a large red circle at the top left"')
        sub.add_argument("--negative-prompt", default="", help="guide the run away from this prompt")
        sub.add_argument("--seed", type=checks.seed, default=0)
        sub.add_argument("--step", type=checks.non_negative_int, default=None,
                         help="the step to look at, 0 (the noisiest) to steps - 1 (default: half-way)")
        sub.add_argument("--kind", choices=("cross", "self"), default="cross",
                         help="cross: attention to the prompt's words (default); self: where --cell looks")
        sub.add_argument("--cell", type=cell_argument, default=None, metavar="ROW,COL",
                         help="for --kind self: the cell, 0,0 at the top left (the grid is 8x8 for ldm, "
                              "4x4 tokens for dit and sit; default: the centre)")
        sub.add_argument("--layer", type=checks.positive_int, default=None,
                         help="one attention layer, 1 = the first the input meets (default: their mean)")
        sub.add_argument("--head", type=checks.positive_int, default=None, help="one head, from 1 (default: their mean)")
        sub.add_argument("--guidance", type=checks.guidance_scale, default=None, metavar="W",
                         help="the run's guidance scale w (default: the checkpoint's measured best)")
        add_guidance_schedule_arguments(sub)
        sub.add_argument("--sampler", choices=SCHEDULER_KINDS + FLOW_KINDS, default=None,
                         help="ddpm or ddim for ldm and dit, euler, heun or sde for sit (default: ddim, or heun for sit)")
        sub.add_argument("--steps", type=checks.positive_int, default=None,
                         help="inference steps of the run (default: 50 for ldm and dit, 10 for sit)")
        sub.add_argument("--eta", type=checks.eta, default=0.0, help="DDIM noise, 0 (deterministic) to 1")
        sub.add_argument("--out", required=True, help="the PNG to write")
        sub.add_argument("--scale", type=checks.upscale, default=8, help="nearest-neighbour upscaling of each tile")
        sub.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")
        sub.add_argument("--checkpoint", help="checkpoint folder or file (default: the shipped one)")
        sub.add_argument("--device", default="auto")
        sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..core.assets import open_model
    from ..core.device import pick_device
    from ..core.images import save_png
    from ..core.latent_diffusion.attention import attention_layers, cell_side, check_cell, maps_at_step, prompt_words
    from ..core.latent_diffusion.attention_picture import attention_picture
    from ..core.provenance import picture_recipe

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.kind == "cross" and args.cell is not None:
        raise ValueError("--cell is for --kind self (cross-attention maps are drawn for every cell)")
    if args.kind == "cross" and not prompt_words(args.prompt):
        raise ValueError("an empty prompt has no words to attend to: give --prompt, or use --kind self")
    loaded = open_model(args.checkpoint, (args.family,), pick_device(args.device))
    model = loaded.model
    settings = settings_from_args(loaded, args)
    steps = len(settings.make_scheduler(model).timesteps)
    step = steps // 2 if args.step is None else args.step
    checks.check_number("--step", step, 0, steps - 1, integer=True)
    layers = attention_layers(model, args.kind)
    layer = None if args.layer is None else int(checks.check_number("--layer", args.layer, 1, len(layers), True)) - 1
    heads = layers[0][1].heads
    head = None if args.head is None else int(checks.check_number("--head", args.head, 1, heads, True)) - 1
    cell = None
    if args.kind == "self":
        side = cell_side(model)
        cell = (side // 2, side // 2) if args.cell is None else args.cell
        check_cell(*cell, side, name="--cell")

    maps, run = maps_at_step(model, settings, step, args.kind)
    picture = attention_picture(maps, run.final, layer=layer, head=head, cell=cell, scale=args.scale)
    recipe = picture_recipe(loaded, "attention", **settings.to_recipe(loaded.name, loaded.family), step=step,
                            t=maps.t, attention=args.kind, layer=None if layer is None else layer + 1,
                            layer_name=None if layer is None else layers[layer][0],
                            head=None if head is None else head + 1, cell=None if cell is None else list(cell),
                            words=list(maps.words), scale=args.scale)
    save_png(args.out, picture, recipe)
    what = f"{len(maps.words)} words" if args.kind == "cross" else f"cell {cell[0]},{cell[1]}"
    print(f"wrote {args.out} ({args.kind}-attention at step {step} of {steps}, t={maps.t}, {what})")
    return 0
