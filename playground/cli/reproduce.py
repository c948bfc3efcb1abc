"""`playground reproduce FILE.png --out OUT.png`: re-render a PNG from the recipe it carries.

Says whether the pixels came out identical ("identical: 0 of N pixels differ"), and if
not, what differs in the making (a checkpoint that is gone or holds other weights) and
how many pixels. Exit code 0: identical; 1: rendered, but pixels differ; 2: the file
cannot be reproduced (no recipe, a hand-edited recipe…), with one line saying why.
"""

from __future__ import annotations

import argparse

from ..core.device import pick_device


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("reproduce", help="re-render a PNG from its recipe and compare the pixels")
    parser.add_argument("png", metavar="FILE.png", help="a PNG exported by playground (the app or the command line)")
    parser.add_argument("--out", help="write the re-rendered image here, with its recipe (default: only compare)")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..core.images import save_png
    from ..core.reproduce import differing_pixels, read_pixels, reproduce

    image, recipe, differences = reproduce(args.png, pick_device(args.device))
    original = read_pixels(args.png)
    changed, total = differing_pixels(original, image), original.shape[0] * original.shape[1]
    if args.out:
        save_png(args.out, image, recipe)
    what = f"{recipe.get('model')}, picture {recipe.get('picture')!r}"
    print(f"re-rendered {args.png} ({what})" + (f" -> {args.out}" if args.out else ""))
    for difference in differences:
        print(f"differs: {difference}")
    if original.shape != image.shape:
        print(f"the size differs: {original.shape[1]}x{original.shape[0]} pixels, "
              f"re-rendered {image.shape[1]}x{image.shape[0]}")
    if changed == 0:
        print(f"identical: 0 of {total} pixels differ")
        return 0
    print(f"different: {changed} of {total} pixels differ")
    return 1
