"""Token-by-token generation over a VQ codebook (dalle): sampling, likelihood, CLIP reranking, re-rendering.

The settings a checkpoint samples best at are recorded in its JSON by the evaluation
(`extra["default_sampling"]` = {"temperature", "top_k", "top_p", "guidance"});
`default_settings` reads them, falling back to `FALLBACK_SETTINGS`.
"""

from __future__ import annotations

from typing import Any

from .. import checks
from .sampling import TokenSettings

# the ranges a user may type (CLI `type=` and GUI checks, e.g. `TOP_P.check(value, "top-p")`): see core/checks.py
temperature = checks.FloatRange(0.0, 10.0, low_open=True)  # 0 would be argmax: use --top-k 1 for greedy
top_k = checks.IntRange(0, 1 << 16)                         # 0 = off; k >= the codebook size is off too
top_p = checks.FloatRange(0.0, 1.0, low_open=True)          # 1 = off
guidance = checks.guidance_scale                            # 0 unconditional, 1 conditional, > 1 stronger
rerank_count = checks.IntRange(1, 64)                             # candidates per kept sample (1 = no reranking); not `rerank`:
#                                                             the submodule core.tokens.rerank takes that name

FALLBACK_SETTINGS = TokenSettings(temperature=1.0, top_k=0, top_p=1.0, guidance=3.0)
DEFAULT_SETTINGS = FALLBACK_SETTINGS  # what a checkpoint without recorded settings samples at


def default_settings(extra: dict[str, Any] | None) -> TokenSettings:
    """The checkpoint's recorded best settings (`extra["default_sampling"]`), each missing or invalid
    field taken from FALLBACK_SETTINGS."""
    recorded = (extra or {}).get("default_sampling")
    if not isinstance(recorded, dict):
        return FALLBACK_SETTINGS
    fields = {}
    for name, kind in (("temperature", float), ("top_k", int), ("top_p", float), ("guidance", float)):
        value = recorded.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or value == int(value)):
            fields[name] = kind(value)
    try:
        return TokenSettings(**{**FALLBACK_SETTINGS.to_recipe(), **fields}).checked()
    except ValueError:
        return FALLBACK_SETTINGS
