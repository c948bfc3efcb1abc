"""`playground invert FAMILY --image F --out noise.npy`: DDIM inversion, an image back to the noise that draws it.

Runs the deterministic sampler (DDIM with eta 0; Euler or Heun for sit) backwards from the
image (a latent model's encoded latent) to x_T, samples it forward again and prints the
round trip's error. The .npy holds x_T as float32 (1, C, H, W) (written atomically), the
format `playground sample FAMILY --init-noise` reads (every diffusion family); sample it with the same sampler
and steps (x_T sits at that run's first timestep) and another --prompt or --guidance to edit.
"""

from __future__ import annotations

import argparse

from ..core import checks
from .img2img import add_image_arguments, add_run_arguments, load_model_and_image, settings_from


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("invert", help="DDIM inversion: an image to its noise x_T (.npy), with the round trip's error")
    add_image_arguments(parser)
    add_run_arguments(parser, "classifier-free guidance scale w of the inversion (default 1, the plain conditional "
                              "model: larger w drifts)")
    parser.add_argument("--out", required=True, help="the noise x_T as .npy, float32 (1, C, H, W)")
    parser.add_argument("--round-trip", metavar="PNG", help="also write input | reconstruction as PNG (with its recipe)")
    parser.add_argument("--scale", type=checks.upscale, default=4, help="nearest-neighbour upscaling of --round-trip")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from ..core.images import atomic_path, make_grid, save_png, upscale
    from ..core.img2img.inversion import Inversion, invert_image
    from ..core.provenance import picture_recipe

    loaded, image, source = load_model_and_image(args)
    if args.guidance is None:
        args.guidance = 1.0
    settings = settings_from(loaded, args)
    result = None
    for result in tqdm(invert_image(loaded.model, image, settings), total=2 * settings.steps + 1,
                       desc=f"invert {settings.sampler}-{settings.steps}", unit="step", disable=None):
        pass
    assert isinstance(result, Inversion)
    with atomic_path(args.out, ".npy") as tmp, open(tmp, "wb") as f:
        np.save(f, result.noise.numpy().astype(np.float32))
    print(result.describe())
    print(f"wrote {args.out} (x_T {tuple(result.noise.shape)}, float32)")
    # the hint: the same sampler and steps; a pixel model's inversion ran unclipped, so its sample must too
    edit = "" if loaded.family == "ddpm" else " --prompt ... --guidance ..."
    clip = " --no-clip" if loaded.family in ("ddpm", "text2img") else ""
    print(f"sample from it: playground sample {loaded.family} --init-noise {args.out} --sampler {settings.sampler} "
          f"--steps {settings.steps}{clip}{edit}")
    if args.round_trip:
        picture = upscale(make_grid(np.concatenate([result.input, result.reconstruction])), args.scale)
        recipe = picture_recipe(loaded, "round-trip", **settings.to_recipe(loaded.name, loaded.family), **source,
                                mse=result.mse, psnr=result.psnr if result.psnr != float("inf") else None,
                                scale=args.scale)
        save_png(args.round_trip, picture, recipe)
        print(f"wrote {args.round_trip} (input | round trip)")
    return 0
