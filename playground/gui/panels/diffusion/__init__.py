"""The Diffusion panel: the reverse process step by step, the forward process, DDPM against DDIM."""

from .panel import DiffusionPanel

__all__ = ["DiffusionPanel"]
