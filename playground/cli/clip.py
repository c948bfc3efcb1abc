"""`playground clip classify|score|retrieve|matrix`: CLIP headlessly.

- `classify --images DIR|FILE`: one JSON object per line per image: its file name and, per
  attribute (shape, color, size, position), the value read zero-shot and every value's probability;
- `score --image F --prompt P`: the cosine similarity of the image and the prompt;
- `retrieve --prompt P --k 8 --out grid.png`: the k data-set images nearest the prompt, with scores;
- `matrix --n 8 --out matrix.png`: n images against their captions (the CLIP paper's figure).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..core import checks

FAMILIES = ("clip",)
k_range = checks.IntRange(1, 64)
pool_range = checks.IntRange(8, 20_000)
matrix_size = checks.IntRange(2, 32)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("clip", help="CLIP: zero-shot attributes, image-prompt scores, retrieval, the matrix")
    verbs = parser.add_subparsers(dest="clip_command", metavar="COMMAND", required=True)

    def verb(name: str, help_text: str, run) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=help_text)
        sub.add_argument("--checkpoint", help="clip checkpoint folder or file (default: the shipped one)")
        sub.add_argument("--device", default="auto")
        sub.set_defaults(run=run)
        return sub

    sub = verb("classify", "read each image's shape, color, size and position zero-shot (JSON lines)", classify)
    sub.add_argument("--images", required=True, help="a folder of images (png, jpg, webp) or one image file")
    sub = verb("score", "the cosine similarity of an image and a prompt", score)
    sub.add_argument("--image", required=True, help="an image file (scaled and centre-cropped to 32x32)")
    sub.add_argument("--prompt", required=True, help="e.g. 'a large red circle at the top left'")
    sub = verb("retrieve", "the data-set images nearest a prompt, best first", retrieve)
    sub.add_argument("--prompt", required=True)
    sub.add_argument("--k", type=k_range, default=8, help=f"images to return ({k_range.describe()}, default 8)")
    sub.add_argument("--pool", type=pool_range, default=None,
                     help="shapes images searched (a draw no model trained on; default 1000)")
    sub.add_argument("--out", help="also write the images as one PNG (a row, scores in the recipe)")
    sub.add_argument("--scale", type=checks.upscale, default=4)
    sub = verb("matrix", "n images against their captions: cosine similarities as a PNG", matrix)
    sub.add_argument("--n", type=matrix_size, default=8, help=f"images ({matrix_size.describe()}, default 8)")
    sub.add_argument("--seed", type=checks.seed, default=1, help="the shapes draw the images come from (default 1)")
    sub.add_argument("--out", required=True, help="PNG to write")


def _open(args: argparse.Namespace):
    from ..core.assets import open_model
    from ..core.device import pick_device

    return open_model(args.checkpoint, FAMILIES, pick_device(args.device))


def classify(args: argparse.Namespace) -> int:
    from ..core.clip.classify import read_attributes, reading_record
    from ..core.data import load_image_file
    from ..core.data.folder import load_image_folder

    path = Path(args.images)
    loaded = _open(args)
    size = loaded.model.config.image_size
    if path.is_dir():
        images, names = load_image_folder(path, size)
    else:
        images, names = load_image_file(path, size)[None], [path.name]
    for name, reading in zip(names, read_attributes(loaded.model, images)):
        print(json.dumps(reading_record(name, reading)), flush=True)
    return 0


def score(args: argparse.Namespace) -> int:
    from ..core.clip.scores import clip_score
    from ..core.data import load_image_file, to_tensor
    from ..core.data.shapes import parse_prompt

    prompt = parse_prompt(args.prompt)  # a bad word is one line before any model is opened
    loaded = _open(args)
    image = load_image_file(args.image, loaded.model.config.image_size)[None]
    print(f"{clip_score(loaded.model, to_tensor(image), prompt).item():.4f}")
    return 0


def retrieve(args: argparse.Namespace) -> int:
    from ..core.clip.retrieval import POOL_SIZE, pool_embeddings
    from ..core.clip.retrieval import retrieve as rank
    from ..core.data.shapes import parse_prompt
    from ..core.images import make_grid, save_png, upscale
    from ..core.provenance import exact_floats, picture_recipe

    prompt = parse_prompt(args.prompt)
    loaded = _open(args)
    n = args.pool or POOL_SIZE
    pool = pool_embeddings(loaded, n)
    found = rank(loaded.model, pool, prompt, args.k)
    for rank_, (i, s, ok) in enumerate(zip(found.indices, found.scores, found.matches), 1):
        print(f"{rank_}\t{s:.4f}\t{'fits' if ok else 'misses'}\t{pool.data.captions[i]}")
    print(f"{found.matches.sum()} of {len(found.indices)} fit {args.prompt!r}")
    if args.out:
        recipe = picture_recipe(loaded, "clip-retrieval", prompt=found.prompt, k=args.k, pool=n, data="shapes",
                                indices=found.indices.tolist(), scores=exact_floats(found.scores), scale=args.scale)
        grid = make_grid(pool.data.images[found.indices], columns=len(found.indices))
        print(f"wrote {save_png(args.out, upscale(grid, args.scale), recipe)}")
    return 0


def matrix(args: argparse.Namespace) -> int:
    from ..core.clip.matrix import caption_matrix, matrix_picture
    from ..core.images import save_png
    from ..core.provenance import exact_floats, picture_recipe

    loaded = _open(args)
    m = caption_matrix(loaded.model, args.n, args.seed)
    recipe = picture_recipe(loaded, "clip-matrix", n=args.n, seed=args.seed, captions=m.captions,
                            similarity=exact_floats(m.similarity))
    out = save_png(args.out, matrix_picture(m), recipe)
    print(f"wrote {out}: {m.accuracy:.0%} of the {args.n} images are nearest their own caption")
    return 0
