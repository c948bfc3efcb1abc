"""Image to image and DDIM inversion, one view for the Diffusion and the Text-to-image panels."""

from .view import Img2ImgView, from_sampler

__all__ = ["Img2ImgView", "from_sampler"]
