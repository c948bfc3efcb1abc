"""`--backend auto|torch|onnx` for the sampling commands: one definition, applied in `cli/sample.py`.

The backend that actually ran goes into every PNG's recipe ("backend"), so `playground
reproduce` renders with the same one. `auto` is ONNX Runtime on the CPU (eager torch on
CUDA/MPS, for a tiny network, or when onnxruntime is not installed), `onnx` asks for it on any device. A
command is a batch job: it waits for the checkpoint's session (exported once, then read
from the cache, and checked against torch every time), so every run of the same command
on one machine takes the same path and gives the same pixels (the app instead never
waits: it samples in torch until the session is ready). When the session cannot be had,
torch runs and one line on stderr says why (for `auto`, only when something failed).
"""

from __future__ import annotations

import argparse
import sys

from ..core.backends import BACKEND_CHOICES, BackendModel, with_backend
from ..core.checkpoints import LoadedModel

# the families whose denoiser a backend runs (the others always sample in torch)
BACKEND_FAMILIES = ("ddpm", "text2img", "ldm", "dit", "sit")


def add_backend_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default="auto",
                        help="run the denoiser in eager torch or ONNX Runtime (auto: onnx on the CPU when onnxruntime is "
                             "installed and the export matches torch, else torch); the PNG's recipe records the one used")


def use_backend(loaded: LoadedModel, args: argparse.Namespace) -> tuple[LoadedModel, str | None]:
    """`loaded` running the backend --backend asks for, and its name for the recipe (None: no --backend)."""
    requested = getattr(args, "backend", None)
    if requested is None:
        return loaded, None
    loaded, choice = with_backend(loaded, requested, wait=True)
    if choice.note:
        print(choice.note, file=sys.stderr)
    return loaded, choice.name



def backend_that_ran(loaded: LoadedModel, chosen: str | None) -> str | None:
    """What the recipe records: torch when the session was never called (e.g. `--base ddpm` samples a
    helper DDPM in torch, not the model the backend wraps)."""
    if isinstance(loaded.model, BackendModel) and loaded.model.graph_calls == 0:
        return "torch"
    return chosen
