"""ONNX Runtime for the denoisers: export a network once, run it with a session per thread count.

Why ONNX Runtime: on a 2-core AVX-512 CPU it ran the shipped 1.1M-parameter U-Net at
batch 1 in about half eager torch's time (the small convolutions of batch 1-2 are
dominated by per-operator overhead, which a graph runtime removes), with outputs within
2e-6 of torch's; `torch.compile` paid only after a minute-long first call, bf16 autocast
was slower at batch 1. (See benchmarks/bench_backend.py.)

The network is exported with the TorchScript exporter (opset 17) with a dynamic batch axis:
inputs `x` (N, C, H, W) float32, `t` (N,) int64 and, for a conditioned network, `cond`
(N, D) float32; output `eps` (N, C, H, W). The thread count is torch's when the call is
made, so the CLI's two threads and the GUI worker's one thread carry over. With one thread a
call runs one single-threaded session. With two or more, a batch of 2 or more (a guided step:
cond and uncond) is split in two halves, the first `ceil(N/2)` rows and the rest, each run
by a session of its own with half the threads, concurrently (the runtime releases the GIL):
at batch 1-2 the runtime's own intra-op threads scale poorly (batch 2, 2 threads: 11.7 ms
against 12.4 ms on one), two halves side by side nearly twice as well. The split depends on
the batch and the thread count alone, and one session computes the same outputs for the same
inputs every time on one machine, so a run repeats exactly; split or not, the outputs agree
within the backend's check (`builds.TOLERANCE`), which runs the path the caller's thread
count takes.
"""

from __future__ import annotations

import copy
import io
from concurrent.futures import ThreadPoolExecutor
import threading
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

OPSET = 17
# The TorchScript exporter says it is deprecated (torch 2.9+ prefers the torch.export-based one, which needs
# onnxscript); torch is pinned here, and it exports these networks exactly. Filters rather than
# catch_warnings: the export runs in a background thread, and catch_warnings is process-wide.
warnings.filterwarnings("ignore", message="You are using the legacy TorchScript-based ONNX export",
                        category=DeprecationWarning)
warnings.filterwarnings("ignore", message="The feature will be removed", category=DeprecationWarning,
                        module=r"torch\.onnx")
warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)


def runtime():
    """The onnxruntime module, or None when it is not installed (`pip install 'playground[fast]'`)."""
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime


def runtime_version() -> str | None:
    module = runtime()
    return None if module is None else str(module.__version__)


@dataclass(frozen=True)
class Signature:
    """What a denoiser's exported graph takes: x of `shape` (C, H, W), t, and a condition of width
    `cond_dim` (0: none). `null_cond`: a missing condition means the model's null one (the latent
    denoisers compute it with `embed(None)`); otherwise a call without one runs eagerly."""

    shape: tuple[int, ...]
    cond_dim: int
    null_cond: bool
    timesteps: int = 1000  # the schedule's T: the fixed inputs' t spread over [0, T)


def signature_of(model: nn.Module) -> Signature | None:
    """The exported signature of a pixel U-Net (ddpm, text2img) or a latent denoiser (ldm, dit, sit);
    None for any other network (it keeps running in torch)."""
    from ..models.latent_denoiser import LatentDenoiser
    from ..models.unet import UNet

    config = getattr(model, "config", None)
    if isinstance(model, LatentDenoiser):
        with torch.no_grad():
            width = int(model.embed(None, 1).shape[-1])
        return Signature(tuple(config.latent_shape), width, True, _timesteps(model))
    if isinstance(model, UNet):
        shape = (config.in_channels, config.image_size, config.image_size)
        return Signature(shape, int(getattr(config, "cond_dim", 0) or 0), False, _timesteps(model))
    return None


def _timesteps(model: nn.Module) -> int:
    return int(getattr(getattr(model, "noise_schedule", None), "num_train_timesteps", 1000))


class _Forward(nn.Module):
    """The network as the graph sees it: positional (x, t[, cond])."""

    def __init__(self, model: nn.Module, conditioned: bool):
        super().__init__()
        self.model = model
        self.conditioned = conditioned

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(x, t, cond=cond) if self.conditioned else self.model(x, t)


def example_inputs(signature: Signature, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Fixed inputs of a batch: CPU float32 x and cond ~ N(0, 1), int64 t spread over [0, T)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, *signature.shape), generator=generator)
    t = torch.linspace(signature.timesteps - 1, 0, batch + 2)[1:-1].round().to(torch.int64)
    if not signature.cond_dim:
        return x, t
    return x, t, torch.randn((batch, signature.cond_dim), generator=generator)


def export_onnx(model: nn.Module, signature: Signature) -> bytes:
    """The network's ONNX graph (a private copy of it is traced: the caller's model is not touched)."""
    clone = copy.deepcopy(model).to("cpu").eval()
    names = ["x", "t"] + (["cond"] if signature.cond_dim else [])
    batch_axis = {name: {0: "batch"} for name in names + ["eps"]}
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(_Forward(clone, bool(signature.cond_dim)), example_inputs(signature, 2), buffer,
                          input_names=names, output_names=["eps"], dynamic_axes=batch_axis,
                          opset_version=OPSET, dynamo=False)
    return buffer.getvalue()


# batch sizes that get a session of their own with the batch fixed (1: a plain step, 2: a guided step of one
# image): the runtime then folds the graph's shape arithmetic away, ~10-15% of a small U-Net's time
STATIC_BATCHES = (1, 2)


class OnnxRunner:
    """Runs an exported graph: one session per intra-op thread count, batch kind (a batch of
    `STATIC_BATCHES`, or any other through the dynamic axis) and half of a split batch (0: the
    first or an unsplit one, 1: the second), made on first use (thread-safe)."""

    def __init__(self, graph: bytes, signature: Signature):
        self.graph = graph
        self.signature = signature
        self._sessions: dict[tuple[int, int | None, int], object] = {}
        self._lock = threading.Lock()
        self._second_half: ThreadPoolExecutor | None = None  # runs a split batch's second half

    def session(self, threads: int, batch: int | None = None, half: int = 0):
        key = (max(1, int(threads)), batch if batch in STATIC_BATCHES else None, half)
        with self._lock:
            if key not in self._sessions:
                ort = runtime()
                options = ort.SessionOptions()
                options.intra_op_num_threads = key[0]
                options.inter_op_num_threads = 1
                options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                options.log_severity_level = 3
                # pool threads sleep between calls instead of spinning: between two forwards the sampler runs
                # torch ops on the same cores (guided DDIM-50, 2 threads, a busy 2-core machine: 3.5 s, not 4.8 s)
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                if key[1] is not None:
                    options.add_free_dimension_override_by_name("batch", key[1])
                self._sessions[key] = ort.InferenceSession(self.graph, options, providers=["CPUExecutionProvider"])
            return self._sessions[key]

    def run(self, *inputs: torch.Tensor, threads: int | None = None, split: bool = True) -> torch.Tensor:
        """eps for CPU float32 x, int64 t (and float32 cond), as a CPU float32 tensor. `threads`: torch's
        count by default; `split=False` runs a batch as one session even with several threads."""
        threads = max(1, torch.get_num_threads() if threads is None else int(threads))
        batch = int(inputs[0].shape[0])
        if split and splits(batch, threads):
            return self._run_halves(inputs, threads // 2)
        return self._run_one(inputs, threads)

    def _run_one(self, inputs: tuple[torch.Tensor, ...] | list[torch.Tensor], threads: int, half: int = 0) -> torch.Tensor:
        names = ("x", "t", "cond")
        feed = {name: np.ascontiguousarray(tensor.detach().numpy()) for name, tensor in zip(names, inputs)}
        session = self.session(threads, int(inputs[0].shape[0]), half)
        return torch.from_numpy(session.run(None, feed)[0])

    def _run_halves(self, inputs: tuple[torch.Tensor, ...], threads: int) -> torch.Tensor:
        """The first ceil(N/2) rows on this thread, the rest on the runner's second thread, at once."""
        middle = (int(inputs[0].shape[0]) + 1) // 2
        with self._lock:
            if self._second_half is None:
                self._second_half = ThreadPoolExecutor(max_workers=1, thread_name_prefix="onnx-second-half")
            pool = self._second_half
        second = pool.submit(self._run_one, [tensor[middle:] for tensor in inputs], threads, 1)
        try:
            first = self._run_one([tensor[:middle] for tensor in inputs], threads, 0)
        finally:
            rest = second.result()  # waited for even when the first half failed: no call outlives this one
        return torch.cat([first, rest])


def splits(batch: int, threads: int) -> bool:
    """Whether a call of this batch with this many threads runs as two concurrent halves."""
    return batch >= 2 and threads >= 2
