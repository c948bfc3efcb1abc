"""The Train panel: a recipe form, a training child process and its live view."""

from .panel import TrainPanel

__all__ = ["TrainPanel"]
