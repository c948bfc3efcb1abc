"""`playground nearest --image F [--k 8] [--by pixels|features] [--out strip.png]`: the training
images nearest to an image (does a model copy?), with distances and how far apart training images are."""

from __future__ import annotations

import argparse
import time

from ..core import checks

K_RANGE = checks.IntRange(1, 64)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("nearest", help="the shapes training images nearest to an image, with distances")
    parser.add_argument("--image", required=True, help="an image file (scaled and centre-cropped to 32x32)")
    parser.add_argument("--k", type=K_RANGE, default=8, help="how many neighbours (1..64, default 8)")
    parser.add_argument("--by", choices=("pixels", "features"), default="pixels",
                        help="pixels: RMS difference per channel (0-255); features: the attribute classifier's")
    parser.add_argument("--out", help="also write a strip PNG: the image, then its neighbours nearest first")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..core.data import load_image_file
    from ..core.evaluation import nearest
    from ..core.images import labelled_grid, save_png

    image = load_image_file(args.image, 32)
    start = time.perf_counter()
    indices, distances = nearest.nearest_training(image, k=args.k, by=args.by)[0]
    reference = nearest.reference_distance(args.by)
    print(f"{args.image}: {args.k} nearest of {len(nearest.training_images())} shapes training images by {args.by} "
          f"({time.perf_counter() - start:.2f} s)")
    for rank, (index, distance) in enumerate(zip(indices, distances), 1):
        print(f"{rank:3d}  training image {int(index):6d}  distance {float(distance):.2f}")
    print(f"for reference, {reference.describe()}")
    if args.out:
        train = nearest.training_images()
        strip = np.concatenate([image[None], train[indices]])[None]
        labels = ["image"] + [f"{float(d):.1f}" for d in distances]
        recipe = {"picture": "nearest", "source": args.image, "by": args.by, "k": args.k,
                  "indices": [int(i) for i in indices], "distances": [round(float(d), 4) for d in distances]}
        save_png(args.out, labelled_grid(strip, labels, [args.by]), recipe)
        print(f"wrote {args.out}")
    return 0
