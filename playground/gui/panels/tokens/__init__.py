"""The Tokens panel (dalle): `panel.py` (prompt, sampling row, tabs, recipes), one file per view
(`token_tab.py`, `likelihood_tab.py`, `rerank_tab.py`), the views' widgets (`grid_canvas.py`,
`distribution.py`, `heatmap.py`, `controls.py`) and `session.py`, the token-by-token run the worker plays."""

from .panel import TokensPanel

__all__ = ["TokensPanel"]
