"""The VQ-VAE codebook browser: `panel.py` (layout, codebook, usage, selection), `editing.py` (the
grid and its brush), `files.py` (JSON grids, PNG export and restore), one file per column and per
view, and `state.py` for what the workers compute."""

from .panel import VQVAEPanel

__all__ = ["VQVAEPanel"]
