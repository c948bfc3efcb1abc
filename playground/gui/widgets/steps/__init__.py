"""The step-by-step denoising view, one widget for every host (the Diffusion tab, the Text-to-image panel).

`StepsView` is the widget; its host implements `StepsSource` and may offer `SamplerControls`
for the settings it passes on. See `view.py` for the contract.
"""

from .controls import SamplerControls
from .plots import SchedulePlots
from .view import StepsSource, StepsView

__all__ = ["SamplerControls", "SchedulePlots", "StepsSource", "StepsView"]
