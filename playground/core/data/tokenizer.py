"""Tokenizing shapes prompts for the text encoder.

Prompts are parsed by the shapes language (`data.shapes.parse_prompt`, which refuses
unknown words with the vocabulary) and re-spelled canonically before tokenizing, so
"Red  CIRCLE" and "a red circle" condition the model identically.
"""

from __future__ import annotations

import numpy as np
import torch

from .shapes import ATTRIBUTES, VOCABULARY, Prompt, parse_prompt

PAD = 0
MAX_TOKENS = 8  # "large red circle at the bottom right" is 7 words
TOKEN_IDS = {word: i + 1 for i, word in enumerate(VOCABULARY)}
VOCAB_SIZE = len(VOCABULARY) + 1


def tokenize(prompt: str | Prompt) -> list[int]:
    """Token ids of the prompt's canonical spelling, padded to MAX_TOKENS (PromptError on bad words)."""
    parsed = prompt if isinstance(prompt, Prompt) else parse_prompt(prompt)
    words = parsed.text().split()
    ids = [TOKEN_IDS[w] for w in words]
    return ids + [PAD] * (MAX_TOKENS - len(ids))


def tokenize_batch(prompts: list[str | Prompt]) -> torch.Tensor:
    return torch.tensor([tokenize(p) for p in prompts], dtype=torch.int64)


def prompts_from_labels(labels: np.ndarray, rng: np.random.Generator, keep_probability: float = 0.7) -> list[Prompt]:
    """Training prompts: each attribute of each item kept with `keep_probability`.

    Dropping attributes at random puts partial prompts ("red", "circle at the top") in
    the training distribution, so they mean "any value of the rest".
    """
    keep = rng.random((len(labels), len(ATTRIBUTES))) < keep_probability
    prompts = []
    for row, mask in zip(labels, keep):
        values = [int(v) if m else None for v, m in zip(row, mask)]
        prompts.append(Prompt(shape=values[0], color=values[1], size=values[2], position=values[3]))
    return prompts


def next_words(text: str) -> list[str]:
    """Vocabulary words that may follow `text` in a prompt, for completion as one types.

    The last word counts as unfinished unless `text` ends in a space: "a large re" offers
    "red", "a large red " offers colours' successors (shapes, "at", positions). Articles
    go where the spec writes them: "a" first, "at" before the position, "the" after "at".
    """
    from .shapes import PromptError

    words = text.lower().split()
    partial = "" if not text or text[-1].isspace() or not words else words.pop()
    candidates = []
    has_position = any(w in ("top", "bottom", "left", "right", "center") for w in words)
    for word in VOCABULARY:
        if not word.startswith(partial):
            continue
        if word == "a" and words:
            continue
        if word == "at" and (not words or has_position or words[-1] in ("a", "at", "the")):
            continue
        if word == "the" and (not words or words[-1] != "at"):
            continue
        if words and words[-1] == "at" and word != "the":
            continue
        try:
            parse_prompt(" ".join(words + [word]))
        except PromptError:
            continue
        candidates.append(word)
    return candidates
