"""The VAE/AE panel's views, headless: encode, interpolate, latent map.

    playground encode vae --image FILE --out recon.png      (latent in the PNG recipe)
    playground interpolate vae --a A.png --b B.png --mode spherical --frames 9 --out strip.png
    playground latent-map vae --color-by color --out map.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..core import checks
from ..core.assets import open_model
from ..core.checkpoints import LoadedModel
from ..core.device import pick_device
from ..core.images import save_png
from ..core.latent.render import interpolation_strip, latent_map, reconstruction_pair, source_image
from ..core.latent.sampling import decode, encode, interpolate
from ..core.provenance import exact_floats, picture_recipe

LATENT_FAMILIES = ("vae", "ae")


def _common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--checkpoint", help="checkpoint folder or file (default: the shipped one)")
    sub.add_argument("--device", default="auto")


def _load(args: argparse.Namespace) -> LoadedModel:
    loaded = open_model(args.checkpoint, (args.family, *(f for f in LATENT_FAMILIES if f != args.family)),
                        pick_device(args.device))
    return loaded


def _source(spec: str) -> str:
    """How a recipe names an image given as "N" (item N of the data set) or a file (its absolute path)."""
    return spec if spec.isdigit() else str(Path(spec).resolve())


def add_encode_parsers(families: argparse._SubParsersAction) -> None:
    """`encode vae|ae`: registered by cli/encode.py beside `encode vqvae`."""
    for family in LATENT_FAMILIES:
        sub = families.add_parser(family, help=f"encode an image with the {family}: reconstruction PNG, latent in its recipe")
        sub.add_argument("--image", required=True, help="an image file, or N for item N of --data (seed 1)")
        sub.add_argument("--data", default="shapes")
        sub.add_argument("--out", required=True, help="PNG: original | reconstruction, latent in the metadata")
        sub.add_argument("--scale", type=checks.upscale, default=8)
        _common(sub)
        sub.set_defaults(run=run_encode)


def run_encode(args: argparse.Namespace) -> int:
    loaded = _load(args)
    image = source_image(args.image, args.data, loaded.config.image_size)
    mean, logvar = encode(loaded.model, image[None])
    recon = decode(loaded.model, mean)[0]
    mse = float(np.mean(((image.astype(np.float32) - recon) / 127.5) ** 2))
    save_png(args.out, reconstruction_pair(image, recon, args.scale), picture_recipe(
        loaded, "reconstruction", source=_source(args.image), data=args.data, latent=exact_floats(mean[0]),
        reconstruction_mse=mse, scale=args.scale))
    print(f"wrote {args.out}: reconstruction MSE {mse:.5f}; latent mean {[round(float(v), 3) for v in mean[0]]}")
    return 0


def add_parser(commands: argparse._SubParsersAction) -> None:
    interp = commands.add_parser("interpolate", help="a strip of frames between two encoded images")
    families = interp.add_subparsers(dest="family", metavar="FAMILY", required=True)
    for family in LATENT_FAMILIES:
        sub = families.add_parser(family)
        sub.add_argument("--a", required=True, help="image file, or N for item N of --data")
        sub.add_argument("--b", required=True, help="image file, or N for item N of --data")
        sub.add_argument("--data", default="shapes")
        sub.add_argument("--mode", choices=("spherical", "linear"), default="spherical")
        sub.add_argument("--frames", type=checks.frames, default=9)
        sub.add_argument("--out", required=True)
        sub.add_argument("--scale", type=checks.upscale, default=4)
        _common(sub)
        sub.set_defaults(run=run_interpolate)

    latent_map = commands.add_parser("latent-map", help="PCA map of the encoded data set, coloured by a label")
    families = latent_map.add_subparsers(dest="family", metavar="FAMILY", required=True)
    for family in LATENT_FAMILIES:
        sub = families.add_parser(family)
        sub.add_argument("--data", default=None, help="data set to encode (default: the model's)")
        sub.add_argument("--n", type=checks.map_points, default=1500, help="number of shapes to encode")
        sub.add_argument("--color-by", default=None, help="label to colour by (default: color, or the first)")
        sub.add_argument("--out", required=True)
        sub.add_argument("--size", type=checks.picture_side, default=720, help="image side in pixels")
        _common(sub)
        sub.set_defaults(run=run_latent_map)


def run_interpolate(args: argparse.Namespace) -> int:
    loaded = _load(args)
    size = loaded.config.image_size
    (za,), _ = encode(loaded.model, source_image(args.a, args.data, size)[None])
    (zb,), _ = encode(loaded.model, source_image(args.b, args.data, size)[None])
    latents = interpolate(za, zb, np.linspace(0, 1, args.frames), args.mode)
    save_png(args.out, interpolation_strip(loaded, latents, args.scale), picture_recipe(
        loaded, "interpolation", mode=args.mode, a=_source(args.a), b=_source(args.b), data=args.data, frames=args.frames,
        latents=exact_floats(latents), scale=args.scale))
    print(f"wrote {args.out} ({args.frames} frames, {args.mode})")
    return 0


def run_latent_map(args: argparse.Namespace) -> int:
    loaded = _load(args)
    name = args.data or (loaded.meta.data if loaded.meta.data in ("shapes", "digits") else "shapes")
    picture, label = latent_map(loaded, name, args.n, args.color_by, args.size)
    save_png(args.out, picture, picture_recipe(loaded, "latent-map", data=name, n=args.n, color_by=label,
                                               size=args.size))
    print(f"wrote {args.out}")
    return 0
