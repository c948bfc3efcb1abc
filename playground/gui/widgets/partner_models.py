"""The networks the Latent & flow panel needs beside the one picked: the dit and sit the comparison
runs, the pixel U-Net, ldm, dit and sit the cost table times.

The panel's model (picked in the window) takes its family's place; the others are the shipped
checkpoints (`assets.shipped_for`), loaded in the panel's worker and kept, keyed by file and
modification time, so a checkpoint a training run rewrites is loaded anew. Only worker threads
calls `PartnerModels` (the panel's worker and its timing worker: loading is locked).
"""

from __future__ import annotations

import threading
from pathlib import Path

import torch

from ...core.assets import shipped_for
from ...core.checkpoints import LoadedModel, load_checkpoint
from ...core.latent_diffusion.cost import cost_checkpoints

COMPARED_FAMILIES = ("dit", "sit")


class PartnerModels:
    def __init__(self, device: torch.device):
        self.device = device
        self._loaded: dict[tuple[str, int], LoadedModel] = {}
        self._lock = threading.Lock()

    def load(self, path: str | Path) -> LoadedModel:
        path = Path(path).resolve()
        key = (str(path), path.stat().st_mtime_ns)
        with self._lock:
            if key not in self._loaded:
                for old in [k for k in self._loaded if k[0] == key[0]]:
                    del self._loaded[old]
                self._loaded[key] = load_checkpoint(path, self.device)
            return self._loaded[key]

    def family(self, family: str, picked: LoadedModel | None) -> LoadedModel | None:
        """The picked model if it is of `family`, else the shipped one (None when there is none)."""
        if picked is not None and picked.family == family:
            return picked
        shipped = shipped_for(family)
        return self.load(shipped.path) if shipped is not None else None

    def compared(self, picked: LoadedModel | None) -> dict[str, LoadedModel]:
        """family -> model for the dit and the sit that exist."""
        found = {f: self.family(f, picked) for f in COMPARED_FAMILIES}
        return {f: m for f, m in found.items() if m is not None}

    def costed(self, picked: LoadedModel | None) -> list[LoadedModel]:
        """The networks of the cost table, the picked one in its family's place."""
        models = [picked if picked is not None and picked.family == c.meta.family else self.load(c.path)
                  for c in cost_checkpoints()]
        if picked is not None and picked.family in ("ldm", "dit", "sit") and all(m is not picked for m in models):
            models.append(picked)
        return models
