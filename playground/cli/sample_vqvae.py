"""`playground sample vqvae`: a token grid decoded (from a file, or drawn from the codebook usage)."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..core import checks
from ..core.checkpoints import LoadedModel
from ..core.provenance import picture_recipe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tokens", help="decode this token grid JSON (from `playground encode vqvae` or the GUI)")
    parser.add_argument("--n", type=checks.sample_count, default=16,
                        help="without --tokens: grids with each cell drawn from the codebook usage (no learned prior)")


def sample(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    import sys

    from ..core.codebook.analysis import decode_tokens
    from ..core.codebook.render import unigram_tokens
    from ..core.codebook.token_grid import load_token_grid

    model = loaded.model
    recipe = picture_recipe(loaded, "tokens", grid_size=[model.grid_size] * 2, codebook_size=model.codebook_size, scale=1)
    if args.tokens:
        grid = load_token_grid(args.tokens, grid_size=model.grid_size, codebook_size=model.codebook_size)
        if grid.model and grid.model != loaded.name:
            print(f"warning: {args.tokens} was made with {grid.model!r}, decoding with {loaded.name!r}", file=sys.stderr)
        tokens, recipe["tokens_file"] = grid.indices[None], str(args.tokens)
    else:
        tokens = unigram_tokens(loaded, args.n, args.seed)
        recipe |= {"prior": "unigram codebook usage", "seed": args.seed, "n": args.n}
    images = decode_tokens(model, tokens)
    return images, [recipe | {"index": i, "tokens": tokens[i].tolist()} for i in range(len(images))]
