"""The server's jobs of the token and CLIP families (registered in `jobs.JOBS` on import).

"vq_decode" / "vq_encode": a VQ model's token grids <-> pictures (the VQ-VAE codebook panel's
decodes and encodes; a Dalle checkpoint's own VQ model when the model is a Dalle).
"clip_matrix": the CLIP panel's similarity matrix (`core.clip.matrix.caption_matrix`);
"clip_zero_shot": its zero-shot reading (`core.clip.classify.read_attributes`), per attribute
the probabilities of every value; "clip_embed": image and prompt embeddings (retrieval, the map).
"tokens": the Tokens panel's token-by-token run of a Dalle, streamed; "sample_tokens": its rerank
candidates; "token_likelihood": its likelihood tab's per-cell surprise. Each computes exactly what
the app would, on the server's model.
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


def _writer_message(writer, written: int | None = None) -> dict:
    """A Dalle writer's state: its tokens, next position, the next cell's [cond, uncond] log-probs, its picture."""
    arrays = {"tokens": writer.tokens[0].numpy(), "images": writer.images().float().cpu().numpy()}
    if not writer.done:
        arrays["cond"], arrays["uncond"] = writer.raw_logits(1.0)[0].numpy(), writer.raw_logits(0.0)[0].numpy()
    return message("progress", done=writer.position, total=writer.cells,
                   meta={"position": writer.position, "written": written}, arrays=arrays)


@job("tokens")
def tokens_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """A Dalle's token-by-token run (`core.tokens.sampling.TokenWriter`, one image, both guidance rows):
    args prompt, seed, settings (TokenSettings' fields), prefix (the codes written so far), steps (how many
    cells to write), chosen (null, or the code of the first of them). One message of the state, then one
    after each token; a Stop ends it after the current token. Each image's draws are its seed's uniforms by
    cell, so a run resumed from its prefix writes what it would have written."""
    import torch

    from ..tokens.sampling import TokenSettings, TokenWriter

    settings = TokenSettings(**args["settings"]).checked()
    prefix = [int(t) for t in args.get("prefix") or []]
    head = torch.tensor([prefix], dtype=torch.int64) if prefix else None
    writer = TokenWriter(loaded.model, str(args["prompt"]), settings, n=1, seed=int(args["seed"]), prefix=head,
                         live_guidance=True)
    yield _writer_message(writer)
    chosen = args.get("chosen")
    for i in range(int(args.get("steps", 0))):
        if writer.done:
            break
        if cancelled():
            yield message("stopped", meta={"position": writer.position})
            return
        event = writer.step(None if chosen is None or i else torch.tensor([int(chosen)]))
        yield _writer_message(writer, int(event.token[0]))


@job("sample_tokens")
def sample_tokens_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """`core.tokens.sampling.sample_tokens(model, prompt, settings, n, seed)` (the Tokens panel's rerank
    candidates), a progress message after each token (done = the cell written); a Stop ends it after the
    current token. The result: arrays tokens (n, N) and decoded (n, 3, H, W) in [-1, 1] (`rerank.decode_tokens`)."""
    import torch

    from ..tokens.rerank import decode_tokens
    from ..tokens.sampling import TokenSettings, TokenWriter, row_prompts

    model, settings, n, seed = loaded.model, TokenSettings(**args["settings"]).checked(), int(args["n"]), int(args["seed"])
    prompts, chunks, batch = row_prompts(str(args["prompt"]), n), [], 64  # as sample_tokens writes them
    for start in range(0, n, batch):
        rows = slice(start, start + batch)
        writer = TokenWriter(model, prompts[rows], settings, n=len(prompts[rows]),
                             image_seeds=[seed + i for i in range(n)][rows])
        while not writer.done:
            if cancelled():
                yield message("stopped", meta={"position": writer.position})
                return
            event = writer.step()
            yield message("progress", done=event.position + 1, total=writer.cells)
        chunks.append(writer.tokens.clone())
    tokens = torch.cat(chunks)
    yield message("result", arrays={"tokens": tokens.numpy(), "decoded": decode_tokens(model, tokens).float().numpy()})


@job("token_likelihood")
def token_likelihood_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """A Dalle's surprise at an image: arrays["image"] (1, H, W, 3) uint8, args prompt -> arrays nll (1, g, g)
    nats per cell (`token_nll_of_tokens` of the image's encoding) and decoded (1, 3, H, W) in [-1, 1]."""
    import torch

    from ..data import to_tensor
    from ..tokens.likelihood import token_nll_of_tokens

    model = loaded.model
    with torch.inference_mode():
        tokens = model.encode(to_tensor(np.asarray(arrays["image"], np.uint8)).to(next(model.parameters()).device))
        nll = token_nll_of_tokens(model, tokens, str(args.get("prompt", "")))
        decoded = model.decode(tokens)
    yield message("result", arrays={"nll": nll.float().cpu().numpy(), "decoded": decoded.float().cpu().numpy()})


@job("clip_embed")
def clip_embed_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """CLIP embeddings: arrays["images"] (N, H, W, 3) uint8 -> arrays["images"] (N, D) (`image_embeddings`),
    args prompts [str] -> arrays["texts"] (P, D) (`prompt_embeddings`); either may be absent."""
    import torch

    from ..clip.scores import image_embeddings, prompt_embeddings
    from ..data import to_tensor

    out = {}
    with torch.no_grad():
        if "images" in arrays:
            out["images"] = image_embeddings(loaded.model, to_tensor(np.asarray(arrays["images"], np.uint8))).float().cpu().numpy()
        if args.get("prompts"):
            out["texts"] = prompt_embeddings(loaded.model, [str(p) for p in args["prompts"]]).float().cpu().numpy()
    yield message("result", arrays=out)
