"""`playground codebook --out atlas.png`: a VQ-VAE's codebook atlas and usage histogram, for slides.

The atlas decodes one tile per code (the code repeated over the whole grid, or alone at
the centre of a background code); the histogram counts how many grid cells of a data
set use each code, with codes used and perplexity in its title.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core.assets import default_checkpoint
from ..core.checkpoints import load_checkpoint
from ..core.device import pick_device


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("codebook", help="draw a VQ-VAE's codebook atlas and usage histogram")
    parser.add_argument("--out", required=True, help="atlas PNG (one decoded tile per code)")
    parser.add_argument("--histogram", help="usage histogram PNG (default: OUT with _usage before .png)")
    parser.add_argument("--checkpoint", help="VQ-VAE checkpoint folder or file (default: the shipped one)")
    parser.add_argument("--data", help="data set to count usage on (default: the checkpoint's; shapes are freshly drawn)")
    parser.add_argument("--data-size", type=int, default=2000, help="items of --data to encode")
    parser.add_argument("--tile", choices=("fill", "centre"), default="fill",
                        help="fill: the code over the whole grid; centre: the code alone amid the most used code")
    parser.add_argument("--order", choices=("index", "usage"), default="index", help="tile order in the atlas")
    parser.add_argument("--columns", type=int, default=16)
    parser.add_argument("--scale", type=int, default=2, help="nearest-neighbour upscaling of the atlas")
    parser.add_argument("--device", default="auto")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..core.evaluation.charts import usage_histogram_image
    from ..core.data import load_dataset
    from ..core.images import make_grid, save_png, upscale
    from ..core.codebook.analysis import codebook_atlas, codebook_usage, codes_used, encode_tokens, perplexity

    path = Path(args.checkpoint) if args.checkpoint else default_checkpoint("vqvae")
    loaded = load_checkpoint(path, pick_device(args.device))
    if loaded.family != "vqvae":
        raise ValueError(f"{path} holds a {loaded.family} model; the codebook command needs a vqvae")
    model = loaded.model
    data = load_dataset(args.data or loaded.meta.data or "shapes", n=args.data_size, seed=1,
                        size=model.config.image_size)
    counts = codebook_usage(encode_tokens(model, data.images), model.codebook_size)
    background = int(counts.argmax()) if args.tile == "centre" else None
    tiles = codebook_atlas(model, background=background)
    order = np.argsort(-counts, kind="stable") if args.order == "usage" else np.arange(len(tiles))
    recipe = {"model": loaded.name, "family": "vqvae", "checkpoint": str(loaded.path), "tile": args.tile,
              "background": background, "order": [int(i) for i in order], "columns": args.columns}
    save_png(args.out, upscale(make_grid(tiles[order], columns=args.columns), args.scale), recipe)
    print(f"wrote {args.out} ({len(tiles)} codes)")
    histogram_path = Path(args.histogram) if args.histogram else Path(args.out).with_name(Path(args.out).stem + "_usage.png")
    title = (f"{loaded.name}: {codes_used(counts)}/{model.codebook_size} codes used, "
             f"perplexity {perplexity(counts):.1f} on {len(data)} {data.name} images")
    save_png(histogram_path, usage_histogram_image(counts, title=title),
             {"model": loaded.name, "data": data.name, "n": len(data), "codebook_usage": [int(c) for c in counts]})
    print(f"wrote {histogram_path} ({title})")
    return 0
