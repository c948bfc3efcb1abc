"""`playground sample vae|ae|gan`: prior draws z ~ N(0, T^2 I) decoded, each PNG with its latent."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..core import checks
from ..core.checkpoints import LoadedModel
from ..core.provenance import exact_floats, picture_recipe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=checks.sample_count, default=64, help="number of samples")
    parser.add_argument("--temperature", type=checks.temperature, default=1.0, help="scale of the prior noise")


def sample(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    from ..core.latent.sampling import sample_prior

    images, latents = sample_prior(loaded.model, args.n, args.seed, temperature=args.temperature)
    recipe = picture_recipe(loaded, "decode", seed=args.seed, temperature=args.temperature, n=args.n, scale=1)
    return images, [recipe | {"index": i, "latent": exact_floats(latents[i])} for i in range(len(images))]
