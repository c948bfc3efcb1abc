"""The training run's previews (fixed-noise samples, reconstructions of held-out images, fixed prompts)
kept as they arrive, and "Export video…" of them: the model learning, one frame per preview, each
with its step in a corner. Written on a worker of the export's own (the Train panel has none)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...widgets.video_export import ask_video, export_button, frames_writer

if TYPE_CHECKING:
    from .panel import TrainPanel

MAX_SNAPSHOTS = 240  # past this every other one is dropped (evenly thinned: the whole run stays in the video)


class PreviewSnapshots:
    """Every preview of the run (step, image), and the button that exports them as a video."""

    def __init__(self, panel: TrainPanel):
        self.panel = panel
        self.steps: list[int] = []
        self.images: list[np.ndarray] = []
        self.total_steps = 0
        self.kind = "samples"
        self.button = export_button("The previews of this run, oldest first, as an MP4 or GIF: the model learning "
                                    "(each frame's step in a corner)")
        self.button.clicked.connect(self.export_video)
        self.button.setEnabled(False)

    def clear(self, total_steps: int = 0) -> None:
        self.steps, self.images, self.total_steps = [], [], int(total_steps)
        self.button.setEnabled(False)

    def add(self, step: int, image: np.ndarray, kind: str, total_steps: int) -> None:
        """Keep one preview (a later one of the same size; a preview of another size starts over)."""
        if self.images and self.images[0].shape != image.shape:
            self.clear(total_steps)
        if self.steps and self.steps[-1] == step:
            self.images[-1] = image
        else:
            self.steps.append(int(step))
            self.images.append(image)
        if len(self.images) > MAX_SNAPSHOTS:
            keep = [0, *range(2, len(self.images) - 1, 2), len(self.images) - 1]
            self.steps = [self.steps[i] for i in keep]
            self.images = [self.images[i] for i in keep]
        self.kind, self.total_steps = kind, int(total_steps)
        self.button.setEnabled(len(self.images) > 1)

    def captions(self) -> list[list[str]]:
        return [[f"step {s} / {self.total_steps}", self.kind] for s in self.steps]

    def export_video(self) -> None:
        if len(self.images) < 2:
            self.panel.report_error("nothing to export yet: the run has shown fewer than 2 previews")
            return
        images, captions = list(self.images), self.captions()
        info = self.panel.run_info
        recipe = {"picture": "training_previews", "preview_steps": list(self.steps), "kind": self.kind,
                  "command": getattr(info, "command", "")}
        h, w = images[0].shape[:2]
        ask_video(self.panel, "the training run's previews", "training-previews", (w, h), len(images),
                  frames_writer(lambda ctx: (images, captions), recipe, hold_last=1.0), fps=4)
