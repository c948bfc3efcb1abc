"""Remote versions of the token and CLIP families' model work (`jobs_tokens` on the server); each
returns what its local counterpart returns. NotServed (from `served_id`) when the server lacks the model."""

from __future__ import annotations

import numpy as np
import torch

from ..clip.classify import AttributeReading, Reading
from ..clip.matrix import CaptionMatrix
from ..data.shapes import ATTRIBUTES
from .client import Connection
from .remote import served_id


def _result(connection: Connection, name: str, model: torch.nn.Module, args: dict, arrays: dict) -> dict:
    model_id = served_id(connection, model)
    for msg in connection.client.stream(name, model_id, args, arrays):
        if msg["kind"] == "result":
            return msg
    raise ValueError(f"the server's {name} job returned nothing")


def remote_decode_tokens(connection: Connection, model: torch.nn.Module, tokens: np.ndarray) -> np.ndarray:
    """`core.codebook.analysis.decode_tokens(model, tokens)` on the server: a grid (h, w) or batch (N, h, w)
    -> uint8 images (N, H, W, 3)."""
    tokens = np.asarray(tokens, np.int64)
    msg = _result(connection, "vq_decode", model, {}, {"tokens": tokens[None] if tokens.ndim == 2 else tokens})
    return msg["arrays"]["images"]


def remote_encode_tokens(connection: Connection, model: torch.nn.Module, images: np.ndarray,
                         decode: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """`encode_tokens(model, images)` on the server; with `decode`, (tokens, their decodes)."""
    msg = _result(connection, "vq_encode", model, {"decode": decode}, {"images": np.asarray(images, np.uint8)})
    return (msg["arrays"]["tokens"], msg["arrays"]["images"]) if decode else msg["arrays"]["tokens"]


def remote_caption_matrix(connection: Connection, model: torch.nn.Module, n: int, seed: int) -> CaptionMatrix:
    """`core.clip.matrix.caption_matrix(model, n, seed)` on the server."""
    msg = _result(connection, "clip_matrix", model, {"n": int(n), "seed": int(seed)}, {})
    return CaptionMatrix(msg["arrays"]["images"], list(msg["meta"]["captions"]), msg["arrays"]["similarity"],
                         float(msg["meta"]["scale"]))


def remote_read_attributes(connection: Connection, model: torch.nn.Module, images: np.ndarray) -> list[Reading]:
    """`core.clip.classify.read_attributes(model, images)` on the server."""
    arrays = _result(connection, "clip_zero_shot", model, {}, {"images": np.asarray(images, np.uint8)})["arrays"]
    return [{a: AttributeReading(a, arrays[a][i]) for a in ATTRIBUTES if a in arrays} for i in range(len(images))]
