"""`playground sample vqgan-clip --prompt P --steps N --seed S --out F`: a VQ model's latent grid
optimised toward a prompt by CLIP (core/vqgan_clip), written as one PNG with its recipe
(the prompt, both models, the settings, the final tokens and CLIP score)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from ..core.assets import open_model
from ..core.checkpoints import LoadedModel
from ..core.data import to_uint8
from ..core.data.shapes import parse_prompt
from ..core.device import model_device, pick_device
from ..core.images import save_png, upscale
from ..core.provenance import helper_header, picture_recipe
from ..core.vqgan_clip import optimize
from ..core.vqgan_clip.render import PICTURE

DEFAULTS = optimize.VQGANCLIPSettings(prompt="", steps=50)
VQ_FAMILIES = ("vqgan", "vqvae")


class _PromptAction(argparse.Action):
    """Stores --prompt (required) and makes this file's `run` the command's: `sample.run` opens a model
    of the family named on the command line, and "vqgan-clip" names none (it opens a vqgan and a clip)."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.run = run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompt", required=True, action=_PromptAction, help="what to draw, e.g. 'a red circle'")
    parser.add_argument("--steps", dest="optimize_steps", type=optimize.steps_range, default=DEFAULTS.steps,
                        help=f"Adam steps on the latent grid (default {DEFAULTS.steps})")
    parser.add_argument("--vqgan", metavar="CHECKPOINT",
                        help="the VQ model whose grid is optimised (a vqgan or vqvae; default: the shipped vqgan)")
    parser.add_argument("--clip", metavar="CHECKPOINT", help="the CLIP model that scores (default: the shipped clip)")
    parser.add_argument("--lr", type=optimize.learning_rate, default=DEFAULTS.lr, help=f"Adam's step size "
                        f"(default {DEFAULTS.lr})")
    parser.add_argument("--augment", type=optimize.augment_count, default=DEFAULTS.augment,
                        help=f"shifted copies CLIP also scores each step (default {DEFAULTS.augment}; 0: none)")
    parser.add_argument("--init", choices=optimize.INITS, default=DEFAULTS.init,
                        help="start from a seeded data-set image's encoding (default) or seeded noise")
    parser.add_argument("--codebook-weight", type=optimize.codebook_weight, default=DEFAULTS.codebook_weight,
                        help="pull of the latent toward its nearest codes (default 0)")


def settings_from(args: argparse.Namespace) -> optimize.VQGANCLIPSettings:
    if not args.prompt.strip():
        raise ValueError("--prompt is empty: name what to draw, e.g. 'a large red circle at the top left'")
    parse_prompt(args.prompt)  # a bad word is one line before any model is loaded
    return optimize.VQGANCLIPSettings(args.prompt, args.optimize_steps, args.seed, args.lr, args.augment, args.init,
                                      args.codebook_weight).checked()


def sample(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """One optimised image (1, H, W, 3) and its recipe; the CLIP model from --clip (else the shipped one)."""
    settings = settings_from(args)
    clip = open_model(args.clip, ("clip",), model_device(loaded.model))
    last, scores = optimize.run_to_end(loaded.model, clip.model, settings, loaded.meta.data or "shapes")
    model = loaded.model
    recipe = picture_recipe(loaded, PICTURE, **settings.recipe(), **helper_header("clip", clip),
                            grid_size=[model.grid_size] * 2, codebook_size=model.codebook_size,
                            tokens=last.tokens.cpu().tolist(), score=round(last.score, 6),
                            best_score=round(max(scores), 6), scale=1)
    return to_uint8(last.image), [recipe]


def run(args: argparse.Namespace) -> int:
    settings_from(args)
    loaded = open_model(args.vqgan or args.checkpoint, VQ_FAMILIES, pick_device(args.device))
    images, recipes = sample(loaded, args)
    recipe = recipes[0] | {"scale": args.scale}
    path = Path(args.out) if args.out else Path(args.out_dir) / "sample_0000.png"
    save_png(path, upscale(images[0], args.scale), recipe)
    print(f"wrote {path} (CLIP score {recipe['score']:.3f} after {recipe['steps']} steps)")
    return 0
