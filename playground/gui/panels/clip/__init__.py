"""The CLIP panel: the caption matrix, zero-shot reading, retrieval and the joint embedding map."""

from .panel import ClipPanel

__all__ = ["ClipPanel"]
