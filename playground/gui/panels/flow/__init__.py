"""The Latent & flow panel: flow vs diffusion, the autoencoder-kl by hand, what latent space buys."""

from .panel import FlowPanel

__all__ = ["FlowPanel"]
