"""Cross- and self-attention weights of a diffusers U-Net, for the project's attention maps.

`core/latent_diffusion/attention.py` switches a model's attention modules to an explicit softmax
that keeps its weights (`keep_attention`, `last_attention` (B, heads, Tq, Tk)) for one evaluation.
A diffusers U-Net's attention runs through processors: each `Attention` gets a `RecordingProcessor`
that runs the model's own fused processor (the same numbers as before it was installed) unless
asked to keep its weights, and then diffusers' explicit `AttnProcessor`, reading the softmax that
`Attention.get_attention_scores` returns. The keys of cross-attention are the text encoder's
tokens: column j is token j of the prompt as the tokenizer reads it, start marker first.
"""

from __future__ import annotations

from typing import Literal

from torch import nn


class RecordingProcessor:
    """A diffusers attention processor that can keep its attention weights."""

    def __init__(self, fused, name: str):
        from diffusers.models.attention_processor import AttnProcessor

        self.fused = fused
        self.explicit = AttnProcessor()
        self.name = name
        self.keep_attention = False
        self.last_attention = None

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, *args, **kwargs):
        if not self.keep_attention:
            return self.fused(attn, hidden_states, encoder_hidden_states, attention_mask, temb, *args, **kwargs)
        original = attn.get_attention_scores

        def scores(query, key, mask=None):
            probs = original(query, key, mask)  # (B * heads, Tq, Tk), rows summing to 1
            self.last_attention = probs.detach().reshape(-1, attn.heads, *probs.shape[1:])
            return probs

        attn.get_attention_scores = scores
        try:
            return self.explicit(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        finally:
            del attn.get_attention_scores  # the class's method again


def install_recorders(unet: nn.Module) -> dict[str, list[RecordingProcessor]]:
    """Wrap every attention processor of `unet`; {"cross": [...], "self": [...]} in the order the input meets them."""
    found: dict[str, list[RecordingProcessor]] = {"cross": [], "self": []}
    for name, module in unet.named_modules():
        if hasattr(module, "set_processor") and hasattr(module, "is_cross_attention"):
            kind: Literal["cross", "self"] = "cross" if module.is_cross_attention else "self"
            recorder = RecordingProcessor(module.processor, _short(name))
            module.set_processor(recorder)
            found[kind].append(recorder)
    return found


def _short(name: str) -> str:
    """'down_blocks.1.attentions.0.transformer_blocks.0.attn2' -> 'down 2.1'."""
    parts = name.split(".")
    stage = {"down_blocks": "down", "mid_block": "mid", "up_blocks": "up"}.get(parts[0], parts[0])
    if stage == "mid":
        return "mid"
    return f"{stage} {int(parts[1]) + 1}.{int(parts[3]) + 1}" if len(parts) > 3 and parts[3].isdigit() else stage
