"""The panels of the main window, in tab order: one line per panel (the only list of them)."""

from __future__ import annotations

from .base import Panel
from .diffusion import DiffusionPanel
from .flow import FlowPanel
from .latent import LatentPanel
from .text2img import Text2ImgPanel
from .train import TrainPanel
from .codebook import VQVAEPanel
from .tokens import TokensPanel
from .clip import ClipPanel
from .compare import ComparePanel

# Compare opens first: the whole family tree on one page, the one a teacher starts from
PANEL_CLASSES: list[type[Panel]] = [ComparePanel, LatentPanel, DiffusionPanel, VQVAEPanel, TokensPanel, Text2ImgPanel, ClipPanel,
                                    FlowPanel, TrainPanel]
