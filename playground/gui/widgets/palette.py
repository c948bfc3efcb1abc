"""Colours the panels share: label values (from the core, as the CLI draws them) and plot series."""

from __future__ import annotations

from ...core.data.palette import CATEGORY_COLOURS, label_palette

__all__ = ["CATEGORY_COLOURS", "SERIES_COLOURS", "label_palette"]

SERIES_COLOURS = ("#5aa9ff", "#f0a030", "#56c596", "#c678dd", "#ff6b6b", "#e6d35a")
