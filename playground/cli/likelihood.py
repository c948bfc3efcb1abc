"""`playground likelihood dalle --image F [--prompt P]`: how many bits the prior spends on an image.

Prints the teacher-forced code length of the image's VQ tokens under the dalle prior, in bits per
token and bits per dimension (total bits / (3 H W)), and the bound on the image itself: those
bits plus the decoder's discretised-Gaussian term at `--sigma` (`core/tokens/likelihood.py`).
With `--json`, one JSON object.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core import checks
from ..core.assets import open_model
from ..core.device import pick_device
from .sample_dalle import prompt_text

sigma_range = checks.FloatRange(0.0, 10.0, low_open=True)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("likelihood", help="an image's negative log-likelihood under a prior, in bits")
    families = parser.add_subparsers(dest="family", metavar="FAMILY", required=True)
    sub = families.add_parser("dalle", help="bits per token and per dimension of an image's VQ tokens under the dalle prior")
    sub.add_argument("--image", required=True, help="an image file (scaled and centre-cropped to the model's size)")
    sub.add_argument("--prompt", type=prompt_text, default="", help='condition on this prompt ("" = the unconditional prior)')
    sub.add_argument("--sigma", type=sigma_range, default=None,
                     help="the decoder's Gaussian std in [-1, 1] pixel units for the bound on the image (default 0.05)")
    sub.add_argument("--json", action="store_true", help="print one JSON object")
    sub.add_argument("--checkpoint", help="checkpoint folder or file (default: the shipped one)")
    sub.add_argument("--device", default="auto")
    sub.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..core.data import load_image_file, to_tensor
    from ..core.tokens.likelihood import DECODER_SIGMA, bits_per_token, image_bits_per_dim, token_nll

    loaded = open_model(args.checkpoint, (args.family,), pick_device(args.device))
    model = loaded.model
    image = to_tensor(load_image_file(args.image, model.config.image_size)[None])
    sigma = DECODER_SIGMA if args.sigma is None else args.sigma
    nll = token_nll(model, image, args.prompt)
    bits = image_bits_per_dim(model, image, args.prompt, sigma)
    result = {
        "image": str(Path(args.image)), "model": loaded.name, "prompt": args.prompt,
        "bits_per_token": round(float(bits_per_token(nll)[0]), 4),
        "token_bits": round(float(nll.sum()) / 0.6931471805599453, 2),
        "bits_per_dim": round(float(bits.token_bits_per_dim[0]), 5),
        "decoder_bits_per_dim": round(float(bits.decoder_bits_per_dim[0]), 5),
        "image_bits_per_dim": round(float(bits.total[0]), 5), "sigma": sigma,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.image}: {result['bits_per_token']:.3f} bits per token, {result['bits_per_dim']:.4f} bits per dim "
              f"(the {model.config.image_tokens} VQ tokens under {loaded.name}"
              f"{', prompt ' + repr(args.prompt) if args.prompt else ', unconditional'}); "
              f"with the decoder's term at sigma {sigma:g}: {result['image_bits_per_dim']:.4f} bits per dim")
    return 0
