"""The server's jobs of the token and CLIP families (registered in `jobs.JOBS` on import).

"vq_decode" / "vq_encode": a VQ model's token grids <-> pictures (the VQ-VAE codebook panel's
decodes and encodes; a Dalle checkpoint's own VQ model when the model is a Dalle).
"clip_matrix": the CLIP panel's similarity matrix (`core.clip.matrix.caption_matrix`);
"clip_zero_shot": its zero-shot reading (`core.clip.classify.read_attributes`), per attribute
the probabilities of every value. Each computes exactly what the app would, on the server's model.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np

from ..checkpoints import LoadedModel
from .jobs import job
from .wire import message


def vq_model(model):
    """The VQ model inside a checkpoint's model (a Dalle holds one), or the model itself."""
    return getattr(model, "vq", model)


@job("vq_decode")
def vq_decode_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """arrays["tokens"] (N, h, w) int -> arrays["images"] (N, H, W, 3) uint8."""
    from ..codebook.analysis import decode_tokens

    tokens = np.asarray(arrays["tokens"], np.int64)
    yield message("result", arrays={"images": decode_tokens(vq_model(loaded.model), tokens)})


@job("vq_encode")
def vq_encode_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """arrays["images"] (N, H, W, 3) uint8 -> arrays["tokens"] (N, h, w) int64, and args["decode"] true:
    arrays["images"] their decodes too (the codebook panel's encode shows the reconstruction)."""
    from ..codebook.analysis import decode_tokens, encode_tokens

    model = vq_model(loaded.model)
    tokens = encode_tokens(model, np.asarray(arrays["images"], np.uint8))
    out = {"tokens": tokens}
    if args.get("decode"):
        out["images"] = decode_tokens(model, tokens)
    yield message("result", arrays=out)


@job("clip_matrix")
def clip_matrix_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """args n, seed -> the `CaptionMatrix`: arrays images, similarity; meta captions, scale."""
    from ..clip.matrix import caption_matrix

    matrix = caption_matrix(loaded.model, int(args["n"]), int(args["seed"]))
    yield message("result", arrays={"images": matrix.images, "similarity": matrix.similarity},
                  meta={"captions": list(matrix.captions), "scale": matrix.scale})


@job("clip_zero_shot")
def clip_zero_shot_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """arrays["images"] (N, H, W, 3) uint8 -> per attribute arrays[attribute] (N, values) probabilities."""
    from ..clip.classify import read_attributes

    readings = read_attributes(loaded.model, np.asarray(arrays["images"], np.uint8))
    attributes = list(readings[0]) if readings else []
    yield message("result", arrays={a: np.stack([r[a].probabilities for r in readings]).astype(np.float32)
                                    for a in attributes})
