"""The VAE / AE / GAN panel: `panel.py` holds the latent and its controls, one file per tab."""

from .panel import DIRECTIONS_TAB, ENCODE_TAB, INTERPOLATE_TAB, MAP_TAB, LatentPanel

__all__ = ["LatentPanel", "ENCODE_TAB", "INTERPOLATE_TAB", "MAP_TAB", "DIRECTIONS_TAB"]
