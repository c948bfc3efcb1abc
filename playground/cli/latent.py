"""The VAE/AE panel's views, headless: encode, interpolate, latent map.

    playground encode vae --image FILE --out recon.png      (latent in the PNG recipe)
    playground interpolate vae --a A.png --b B.png --mode spherical --frames 9 --out strip.png
    playground latent-map vae --color-by color --out map.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..core.assets import default_checkpoint
from ..core.checkpoints import LoadedModel, load_checkpoint
from ..core.data import load_dataset, load_image_file
from ..core.data.palette import label_palette
from ..core.device import pick_device
from ..core.images import save_png, upscale
from ..core.latent.sampling import Projection2D, decode, encode, interpolate

LATENT_FAMILIES = ("vae", "ae")


def _common(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--checkpoint", help="checkpoint folder or file (default: the shipped one)")
    sub.add_argument("--device", default="auto")


def _load(args: argparse.Namespace) -> LoadedModel:
    path = Path(args.checkpoint) if args.checkpoint else default_checkpoint(args.family)
    loaded = load_checkpoint(path, pick_device(args.device))
    if loaded.family not in LATENT_FAMILIES:
        raise ValueError(f"{path} holds a {loaded.family} model; these commands need a VAE or AE")
    return loaded


def _image(spec: str, data: str, size: int) -> np.ndarray:
    """An image file, or 'N' for item N of the data set."""
    if spec.isdigit():
        items = load_dataset(data, n=int(spec) + 1 if data == "shapes" else None, seed=1, size=size)
        return items.images[int(spec)]
    return load_image_file(spec, size)


def add_encode_parsers(families: argparse._SubParsersAction) -> None:
    """`encode vae|ae`: registered by cli/encode.py beside `encode vqvae`."""
    for family in LATENT_FAMILIES:
        sub = families.add_parser(family, help=f"encode an image with the {family}: reconstruction PNG, latent in its recipe")
        sub.add_argument("--image", required=True, help="an image file, or N for item N of --data (seed 1)")
        sub.add_argument("--data", default="shapes")
        sub.add_argument("--out", required=True, help="PNG: original | reconstruction, latent in the metadata")
        sub.add_argument("--scale", type=int, default=8)
        _common(sub)
        sub.set_defaults(run=run_encode)


def run_encode(args: argparse.Namespace) -> int:
    loaded = _load(args)
    image = _image(args.image, args.data, loaded.config.image_size)
    mean, logvar = encode(loaded.model, image[None])
    recon = decode(loaded.model, mean)[0]
    pair = np.concatenate([image, np.zeros((image.shape[0], 2, 3), np.uint8), recon], axis=1)
    mse = float(np.mean(((image.astype(np.float32) - recon) / 127.5) ** 2))
    save_png(args.out, upscale(pair, args.scale), {
        "model": loaded.name, "family": loaded.family, "checkpoint": str(loaded.path), "source": args.image,
        "latent": [round(float(v), 6) for v in mean[0]], "reconstruction_mse": mse,
    })
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
        sub.add_argument("--frames", type=int, default=9)
        sub.add_argument("--out", required=True)
        sub.add_argument("--scale", type=int, default=4)
        _common(sub)
        sub.set_defaults(run=run_interpolate)

    latent_map = commands.add_parser("latent-map", help="PCA map of the encoded data set, coloured by a label")
    families = latent_map.add_subparsers(dest="family", metavar="FAMILY", required=True)
    for family in LATENT_FAMILIES:
        sub = families.add_parser(family)
        sub.add_argument("--data", default=None, help="data set to encode (default: the model's)")
        sub.add_argument("--n", type=int, default=1500, help="number of shapes to encode")
        sub.add_argument("--color-by", default=None, help="label to colour by (default: color, or the first)")
        sub.add_argument("--out", required=True)
        sub.add_argument("--size", type=int, default=720, help="image side in pixels")
        _common(sub)
        sub.set_defaults(run=run_latent_map)


def run_interpolate(args: argparse.Namespace) -> int:
    loaded = _load(args)
    size = loaded.config.image_size
    (za,), _ = encode(loaded.model, _image(args.a, args.data, size)[None])
    (zb,), _ = encode(loaded.model, _image(args.b, args.data, size)[None])
    latents = interpolate(za, zb, np.linspace(0, 1, args.frames), args.mode)
    frames = decode(loaded.model, latents)
    strip = np.concatenate(list(frames), axis=1)
    save_png(args.out, upscale(strip, args.scale), {
        "model": loaded.name, "family": loaded.family, "mode": args.mode, "a": args.a, "b": args.b,
        "latents": np.round(latents, 6).tolist(),
    })
    print(f"wrote {args.out} ({args.frames} frames, {args.mode})")
    return 0


def run_latent_map(args: argparse.Namespace) -> int:
    loaded = _load(args)
    name = args.data or (loaded.meta.data if loaded.meta.data in ("shapes", "digits") else "shapes")
    data = load_dataset(name, n=args.n if name == "shapes" else None, seed=1, size=loaded.config.image_size)
    means, _ = encode(loaded.model, data.images)
    projection = Projection2D(means)
    label = args.color_by or ("color" if "color" in data.label_names else (data.label_names or ("",))[0])
    if label and label not in data.label_names:
        raise ValueError(f"--color-by {label!r}: {data.name} has labels {', '.join(data.label_names) or 'none'}")
    values = data.labels[:, data.label_names.index(label)] if label else np.zeros(len(data), np.int64)
    value_names = data.label_values.get(label, ())
    palette = label_palette(label, int(values.max()) + 1)
    image = draw_scatter(projection.coords, values, palette, args.size)
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate(palette):
        draw.rectangle([10, 10 + 16 * i, 20, 20 + 16 * i], fill=colour)
        draw.text((26, 9 + 16 * i), str(value_names[i] if value_names else i), fill=(220, 220, 220))
    ev = projection.explained
    draw.text((10, args.size - 20), f"{loaded.name}: PCA of {len(data)} encodings of {data.name}, "
              f"axes explain {ev[0]:.0%} / {ev[1]:.0%}; coloured by {label}", fill=(200, 200, 200))
    image.save(args.out)
    print(f"wrote {args.out}")
    return 0


def draw_scatter(coords: np.ndarray, values: np.ndarray, palette: list[tuple[int, int, int]], size: int) -> Image.Image:
    """Points on a dark square canvas, scaled to fit with a margin."""
    image = Image.new("RGB", (size, size), (22, 23, 26))
    draw = ImageDraw.Draw(image)
    lo, hi = coords.min(axis=0), coords.max(axis=0)
    scale = (size - 80) / max(float((hi - lo).max()), 1e-9)
    centre = (lo + hi) / 2
    for (x, y), v in zip(coords, values):
        px = size / 2 + (x - centre[0]) * scale
        py = size / 2 - (y - centre[1]) * scale
        draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=palette[int(v)])
    return image
