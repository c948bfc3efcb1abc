"""`playground codebook --out atlas.png`: a VQ-VAE's codebook atlas and usage histogram, for slides.

The atlas decodes one tile per code (the code repeated over the whole grid, or alone at
the centre of a background code); the histogram counts how many grid cells of a data
set use each code, with codes used and perplexity in its title.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core import checks
from ..core.assets import open_model
from ..core.device import pick_device


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("codebook", help="draw a VQ-VAE's codebook atlas and usage histogram")
    parser.add_argument("--out", required=True, help="atlas PNG (one decoded tile per code)")
    parser.add_argument("--histogram", help="usage histogram PNG (default: OUT with _usage before .png)")
    parser.add_argument("--checkpoint", help="VQ-VAE checkpoint folder or file (default: the shipped one)")
    parser.add_argument("--data", help="data set to count usage on (default: the checkpoint's; shapes are freshly drawn)")
    parser.add_argument("--data-size", type=checks.IntRange(1, 20_000), default=2000, help="items of --data to encode")
    parser.add_argument("--tile", choices=("fill", "centre"), default="fill",
                        help="fill: the code over the whole grid; centre: the code alone amid the most used code")
    parser.add_argument("--order", choices=("index", "usage"), default="index", help="tile order in the atlas")
    parser.add_argument("--columns", type=checks.IntRange(1, 256), default=16)
    parser.add_argument("--scale", type=checks.upscale, default=2, help="nearest-neighbour upscaling of the atlas")
    parser.add_argument("--device", default="auto")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..core.codebook.render import atlas_picture, usage_picture
    from ..core.images import save_png
    from ..core.provenance import picture_recipe

    loaded = open_model(args.checkpoint, ("vqvae",), pick_device(args.device))
    data = args.data or loaded.meta.data or "shapes"
    histogram, counts, title = usage_picture(loaded, data, args.data_size)
    background = int(counts.argmax()) if args.tile == "centre" else None
    order = [int(i) for i in (np.argsort(-counts, kind="stable") if args.order == "usage" else np.arange(len(counts)))]
    save_png(args.out, atlas_picture(loaded, background, order, args.columns, args.scale), picture_recipe(
        loaded, "codebook-atlas", tile=args.tile, background=background, order=order, columns=args.columns,
        scale=args.scale))
    print(f"wrote {args.out} ({len(order)} codes)")
    histogram_path = Path(args.histogram) if args.histogram else Path(args.out).with_name(Path(args.out).stem + "_usage.png")
    save_png(histogram_path, histogram, picture_recipe(loaded, "codebook-usage", data=data, n=args.data_size,
                                                       codebook_usage=[int(c) for c in counts]))
    print(f"wrote {histogram_path} ({title})")
    return 0
