"""The Text-to-image panel: prompt, guidance sliders, and the Guidance, Grid and Denoising-steps tabs."""

from .panel import Text2ImgPanel

__all__ = ["Text2ImgPanel"]
