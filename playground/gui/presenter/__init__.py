"""Presenter mode: full screen, projector-readable, lessons that play scene by scene (issue 23)."""

from .presenter import Presenter

__all__ = ["Presenter"]
