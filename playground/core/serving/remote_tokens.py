"""Remote versions of the token and CLIP families' model work (`jobs_tokens` on the server); each
returns what its local counterpart returns. NotServed (from `served_id`) when the server lacks the model."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..clip.classify import AttributeReading, Reading
from ..clip.matrix import CaptionMatrix
from ..data.shapes import ATTRIBUTES
from ..tokens.sampling import GridPosition
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


class RemoteTokenWriter(GridPosition):
    """A one-image `core.tokens.sampling.TokenWriter` (live guidance) whose model runs on the server: the
    same attributes and methods the Tokens panel's session uses (tokens, position, settings, step,
    raw_logits, images, branch). Steps drawn under unchanged settings come from one streamed "tokens"
    job (the server writes ahead); new settings or a chosen code start a new stream from the codes
    written so far (the draws are the seed's uniforms by cell: the same run). `close()` ends the stream:
    the server stops after its current token."""

    def __init__(self, connection: Connection, model: torch.nn.Module, prompt: str, settings, seed: int = 0,
                 prefix: np.ndarray | torch.Tensor | None = None):
        self.connection, self.model, self.model_id = connection, model, served_id(connection, model)
        self.prompt, self.settings, self.seed, self.n = prompt, settings.checked(), int(seed), 1
        self.cells = model.config.image_tokens
        self.tokens = torch.full((1, self.cells), -1, dtype=torch.int64)
        start = 0 if prefix is None else int(np.asarray(prefix).reshape(-1).shape[0])
        if start:
            self.tokens[0, :start] = torch.as_tensor(np.asarray(prefix, np.int64).reshape(-1))
        self.position = start
        self._stream, self._stream_settings = None, None
        self._open(None)

    def _open(self, chosen: int | None) -> None:
        """A new stream from the codes written so far; its first message is the state there."""
        self.close()
        args = {"prompt": self.prompt, "seed": self.seed, "settings": dataclasses.asdict(self.settings),
                "prefix": self.tokens[0, :self.position].tolist(), "steps": self.cells - self.position,
                "chosen": chosen}
        self._stream = self.connection.client.stream("tokens", self.model_id, args)
        self._stream_settings = self.settings
        self._apply(self._next())

    def _next(self) -> dict:
        for msg in self._stream:
            if msg["kind"] == "progress":
                return msg
            if msg["kind"] == "stopped":
                break
        self._stream = None
        raise ValueError("the server's token run ended early")

    def _apply(self, msg: dict) -> None:
        arrays = msg["arrays"]
        self.tokens = torch.from_numpy(np.array(arrays["tokens"], np.int64))[None]
        self.position = int(msg["meta"]["position"])
        self._images = torch.from_numpy(np.array(arrays["images"], np.float32))
        self._raw = {k: torch.from_numpy(np.array(arrays[k], np.float32))[None] for k in ("cond", "uncond") if k in arrays}

    def step(self, chosen: torch.Tensor | None = None) -> None:
        """Write the next cell (drawn under `settings`, or `chosen`)."""
        if self.done:
            raise ValueError("every cell is written")
        self.settings.checked()
        if chosen is not None or self._stream is None or self._stream_settings != self.settings:
            self._open(None if chosen is None else int(torch.as_tensor(chosen).reshape(-1)[0]))
        self._apply(self._next())

    def raw_logits(self, guidance: float | None = None) -> torch.Tensor:
        """The guided log-probs (1, K) of the next cell at `guidance` (default: the settings'); no server call."""
        from ..tokens.sampling import guided_logits

        if self.done:
            raise ValueError("every cell is written")
        w = self.settings.guidance if guidance is None else guidance
        return guided_logits(self._raw["cond"], self._raw["uncond"], w)

    def images(self) -> torch.Tensor:
        """(1, 3, H, W) in [-1, 1]: the written cells decoded (by the server)."""
        return self._images

    def branch(self, position: int, code: int, row: int = 0, settings=None, live_guidance: bool = True) -> "RemoteTokenWriter":
        """As `TokenWriter.branch`: the cells before `position` kept, `code` at `position`, on from there."""
        if not 0 <= position <= min(self.position, self.cells - 1):
            raise ValueError(f"a branch starts at a written cell or the next one (0..{min(self.position, self.cells - 1)}), "
                             f"not {position}")
        self.close()
        prefix = np.append(self.tokens[0, :position].numpy(), int(code))
        return RemoteTokenWriter(self.connection, self.model, self.prompt, settings or self.settings, self.seed, prefix)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def remote_sample_tokens(connection: Connection, model: torch.nn.Module, prompt: str, settings, n: int, seed: int,
                         progress=None, stopping=lambda: False) -> tuple[torch.Tensor, torch.Tensor] | None:
    """`sample_tokens(model, prompt, settings, n, seed)` and their decodes (`core.tokens.rerank.decode_tokens`) on
    the server: (tokens (n, N), decoded (n, 3, H, W)); `progress(done, total)` after each token; None when
    `stopping()` turned true and the server stopped."""
    model_id = served_id(connection, model)
    args = {"prompt": prompt, "settings": dataclasses.asdict(settings.checked()), "n": int(n), "seed": int(seed)}
    for msg in connection.client.stream("sample_tokens", model_id, args, None, stopping):
        if msg["kind"] == "progress" and progress is not None:
            progress(int(msg["done"]), int(msg["total"]))
        elif msg["kind"] == "stopped":
            return None
        elif msg["kind"] == "result":
            return torch.from_numpy(msg["arrays"]["tokens"]), torch.from_numpy(msg["arrays"]["decoded"])
    raise ValueError("the server's sample_tokens job returned nothing")


def remote_token_nll(connection: Connection, model: torch.nn.Module, image: np.ndarray,
                     prompt: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A Dalle's nats per cell (1, g, g) of an (H, W, 3) uint8 image's encoding under `prompt`, and the
    decoded encoding (1, 3, H, W), computed on the server."""
    arrays = _result(connection, "token_likelihood", model, {"prompt": prompt},
                     {"image": np.asarray(image, np.uint8)[None]})["arrays"]
    return torch.from_numpy(arrays["nll"]), torch.from_numpy(arrays["decoded"])


def remote_image_embeddings(connection: Connection, model: torch.nn.Module, images: np.ndarray) -> torch.Tensor:
    """`core.clip.scores.image_embeddings(model, to_tensor(images))` on the server: uint8 (N, H, W, 3) -> (N, D)."""
    arrays = _result(connection, "clip_embed", model, {}, {"images": np.asarray(images, np.uint8)})["arrays"]
    return torch.from_numpy(arrays["images"])


def remote_prompt_embeddings(connection: Connection, model: torch.nn.Module, prompts: list[str]) -> torch.Tensor:
    """`core.clip.scores.prompt_embeddings(model, prompts)` on the server: (P, D)."""
    return torch.from_numpy(_result(connection, "clip_embed", model, {"prompts": list(prompts)}, {})["arrays"]["texts"])


def remote_codebook_atlas(connection: Connection, model: torch.nn.Module, background: int | None = None,
                          batch_size: int = 256) -> np.ndarray:
    """`core.codebook.analysis.codebook_atlas` of `model`'s VQ model (a Dalle's own) decoded on the server."""
    from ..codebook.analysis import atlas_grids
    from .jobs_tokens import vq_model

    grids = atlas_grids(vq_model(model), background)
    return np.concatenate([remote_decode_tokens(connection, model, grids[s:s + batch_size])
                           for s in range(0, len(grids), batch_size)])
