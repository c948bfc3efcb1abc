"""`playground encode vqvae --image FILE --out grid.json`: an image's token grid, to edit and decode again.

The grid file is the small JSON format of `playground.core.codebook.token_grid`; decode it with
`playground sample vqvae --tokens grid.json --out x.png`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..core import checks
from ..core.assets import open_model
from ..core.device import pick_device

FAMILIES = ("vqvae",)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("encode", help="encode an image: a VAE/AE latent (reconstruction PNG) or a VQ-VAE token grid")
    families = parser.add_subparsers(dest="family", metavar="FAMILY", required=True)
    sub = families.add_parser("vqvae", help="an image's VQ-VAE token grid as JSON")
    source = sub.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", help="an image file (scaled and centre-cropped to the model's size)")
    source.add_argument("--index", type=checks.non_negative_int, help="item INDEX of --data instead of a file")
    sub.add_argument("--data", default="shapes", help="data set for --index: shapes, digits or a folder")
    sub.add_argument("--out", required=True, help="token grid JSON file to write")
    sub.add_argument("--recon", help="also write the decoded grid (the reconstruction) as PNG")
    sub.add_argument("--scale", type=checks.upscale, default=4, help="nearest-neighbour upscaling of --recon")
    sub.add_argument("--checkpoint", help="checkpoint folder or file (default: the shipped one)")
    sub.add_argument("--device", default="auto")
    sub.set_defaults(run=run)
    from .latent import add_encode_parsers

    add_encode_parsers(families)


def run(args: argparse.Namespace) -> int:
    from ..core.data import load_dataset, load_image_file
    from ..core.images import save_png, upscale
    from ..core.codebook.analysis import decode_tokens, encode_tokens
    from ..core.codebook.token_grid import TokenGrid, save_token_grid
    from ..core.provenance import picture_recipe

    loaded = open_model(args.checkpoint, (args.family,), pick_device(args.device))
    model = loaded.model
    size = model.config.image_size
    if args.image:
        image, source = load_image_file(args.image, size)[None], {"source": str(Path(args.image).resolve())}
    else:
        data = load_dataset(args.data, size=size)
        if not 0 <= args.index < len(data):
            raise ValueError(f"--index {args.index} is outside {data.name} (0..{len(data) - 1})")
        image, source = data.images[args.index:args.index + 1], {"source": str(args.index), "data": data.name}
    tokens = encode_tokens(model, image)[0]
    save_token_grid(args.out, TokenGrid(indices=tokens, model=loaded.name, codebook_size=model.codebook_size))
    print(f"wrote {args.out} ({tokens.shape[0]}x{tokens.shape[1]} tokens, {len(set(tokens.flat))} distinct codes)")
    if args.recon:
        recipe = picture_recipe(loaded, "tokens", **source, tokens=tokens.tolist(), grid_size=list(tokens.shape),
                                codebook_size=model.codebook_size, scale=args.scale)
        save_png(args.recon, upscale(decode_tokens(model, tokens)[0], args.scale), recipe)
        print(f"wrote {args.recon}")
    return 0
