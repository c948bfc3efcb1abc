"""The Compare panel: every generative family measured side by side, the seeds' claims checked."""

from .panel import ComparePanel

__all__ = ["ComparePanel"]
