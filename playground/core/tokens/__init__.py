"""Token-by-token generation over a VQ codebook (dalle): sampling, likelihood, CLIP reranking, re-rendering.

The settings a checkpoint samples best at are recorded in its JSON by the evaluation
(`extra["default_sampling"]` = {"temperature", "top_k", "top_p", "guidance"});
`default_settings` reads them, falling back to `FALLBACK_SETTINGS`.
"""

from __future__ import annotations

from typing import Any

from .sampling import TokenSettings

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
