"""`playground eval samples --images DIR`: how many generated images are clean single shapes.

Works for any family: first write samples with `playground sample FAMILY --out-dir DIR`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..core.assets import default_checkpoint
from ..core.checkpoints import load_checkpoint
from ..core.data import load_image_file
from ..core.device import pick_device
from ..core.evaluation.judge import judge_samples
from ..core.images import atomic_path
from . import eval_text2img, eval_tokens


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("eval", help="evaluate generated samples")
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    samples = kinds.add_parser("samples", help="share of clean single shapes in a folder of PNGs")
    samples.add_argument("--images", required=True, help="folder of generated PNGs (e.g. from sample --out-dir)")
    samples.add_argument("--classifier", help="attribute classifier checkpoint (default: the shipped one)")
    samples.add_argument("--json", help="also write the report as JSON here")
    samples.add_argument("--device", default="auto")
    samples.set_defaults(run=run)
    eval_text2img.add_parser(kinds)
    eval_tokens.add_parsers(kinds)


def run(args: argparse.Namespace) -> int:
    folder = Path(args.images)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such folder (give the folder `sample ... --out-dir` wrote)")
    files = sorted(folder.glob("*.png"))
    if not files:
        raise ValueError(f"{folder}: no PNG files to evaluate")
    images = np.stack([load_image_file(f, 32) for f in files])
    classifier = load_checkpoint(args.classifier or default_checkpoint("classifier"), pick_device(args.device))
    report = judge_samples(images, classifier.model)
    print(report.summary())
    for name, counts in report.attribute_counts.items():
        print(f"  {name:<9} {counts}")
    if args.json:
        with atomic_path(args.json) as tmp:  # a failed write never leaves half a report
            tmp.write_text(json.dumps(report.__dict__, indent=2) + "\n")
    return 0
