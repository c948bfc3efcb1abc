"""`playground sample dalle --prompt P ...`: images written token by token, one recipe each (tokens included).

The settings default to the ones the checkpoint samples best at, recorded in its JSON
(`extra["default_sampling"]`, `core/tokens.default_settings`). With `--rerank R`, each kept
sample is the best by CLIP score of R candidates (candidate c seeded seed + c), and its recipe
names the clip checkpoint, its SHA-256 and the score.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..core import checks, tokens as token_ranges
from ..core.checkpoints import LoadedModel
from ..core.provenance import helper_header, picture_recipe


def prompt_text(text: str) -> str:
    """argparse `type=`: a prompt in the shapes language ("" = unconditional), refused at parse time."""
    from ..core.data.shapes import parse_prompt

    try:
        parse_prompt(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prompt", type=prompt_text, default="",
                        help='e.g. "a large red circle at the top left" ("" = the unconditional prior)')
    parser.add_argument("--temperature", type=token_ranges.temperature, default=None,
                        help="divide the log-probabilities by T (default: the checkpoint's best, else 1)")
    parser.add_argument("--top-k", type=token_ranges.top_k, default=None,
                        help="keep the k most likely codes (0 = off; default: the checkpoint's best, else 0)")
    parser.add_argument("--top-p", type=token_ranges.top_p, default=None,
                        help="nucleus: keep the smallest set of codes with mass >= p (1 = off; default: the checkpoint's best)")
    parser.add_argument("--guidance", type=token_ranges.guidance, default=None, metavar="W",
                        help="classifier-free guidance on the logits: 0 unconditional, 1 conditional, >1 stronger "
                             "(default: the checkpoint's best, else 3)")
    parser.add_argument("--rerank", type=token_ranges.rerank_count, default=1, metavar="R",
                        help="keep the best of R candidates per sample by CLIP score (default 1: no reranking)")
    parser.add_argument("--clip", help="clip checkpoint for --rerank (default: the shipped clip-shapes)")
    parser.add_argument("--n", type=checks.sample_count, default=16, help="number of samples")
    parser.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")


def chosen_settings(loaded: LoadedModel, args: argparse.Namespace):
    """The checkpoint's recorded best settings with whatever the command line gave instead."""
    from dataclasses import replace

    from ..core.tokens import default_settings

    given = {name: getattr(args, name) for name in ("temperature", "top_k", "top_p", "guidance")
             if getattr(args, name) is not None}
    return replace(default_settings(loaded.meta.extra), **given).checked()


def sample(loaded: LoadedModel, args: argparse.Namespace) -> tuple[np.ndarray, list[dict[str, Any]]]:
    import torch
    from tqdm import tqdm

    from ..core.assets import open_model
    from ..core.device import model_device
    from ..core.tokens.render import decode_alone
    from ..core.tokens.rerank import sample_reranked
    from ..core.tokens.sampling import sample_tokens

    if args.threads:
        torch.set_num_threads(args.threads)
    model, n, rerank = loaded.model, args.n, args.rerank
    if n * rerank > checks.MAX_SAMPLES:
        raise ValueError(f"--n {n} times --rerank {rerank} is {n * rerank} candidates; at most {checks.MAX_SAMPLES}")
    checks.check_seed_span(args.seed, n * rerank)
    settings = chosen_settings(loaded, args)
    clip = open_model(args.clip, ("clip",), model_device(model)) if rerank > 1 else None
    cells = model.config.image_tokens
    with tqdm(total=n * rerank * cells, desc=f"dalle w={settings.guidance:g}", unit="token", disable=None) as bar:
        progress = lambda event: bar.update(len(event.token))  # noqa: E731
        if clip is None:
            tokens, scores, candidates = sample_tokens(model, args.prompt, settings, n, args.seed, progress), None, None
        else:
            kept = sample_reranked(model, clip.model, args.prompt, settings, n, rerank, args.seed, progress)
            tokens, scores, candidates = kept.tokens, kept.scores, kept.candidates
    g = model.config.grid_size
    recipe = picture_recipe(loaded, "sample", prompt=args.prompt, **settings.to_recipe(), rerank=rerank, seed=args.seed,
                            n=n, grid_size=[g, g], codebook_size=model.config.codebook_size, scale=1,
                            **(helper_header("clip", clip) if clip is not None else {}))
    recipes = []
    for i in range(n):
        candidate = int(candidates[i]) if candidates is not None else i
        per_image = {"index": i, "image_seed": args.seed + candidate, "tokens": tokens[i].reshape(g, g).tolist()}
        if scores is not None:
            per_image["clip_score"] = float(scores[i])
        recipes.append(recipe | per_image)
    return decode_alone(model, tokens), recipes
