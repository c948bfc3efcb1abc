"""Several processes training one model: the process group torchrun describes, and the few
collectives training needs, each a no-op (and free) in a single process.

`torchrun --nproc_per_node N -m playground train ...` starts N copies of the command with
RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT in their environment;
`init_from_env` joins them into one process group: gloo on the CPU, NCCL on CUDA (one GPU
per process, cuda:LOCAL_RANK). Without those variables nothing here starts anything.

A collective that fails because another process died raises `ProcessGroupFailed` (one
line for the user); a process that hangs is given up on after PLAYGROUND_DIST_TIMEOUT
seconds (default 600), so a run never waits forever on a lost peer.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import socket
from typing import Callable, Sequence, TypeVar

import torch
import torch.distributed as dist

TIMEOUT_ENV = "PLAYGROUND_DIST_TIMEOUT"
DEFAULT_TIMEOUT_S = 600.0

T = TypeVar("T")


class ProcessGroupFailed(RuntimeError):
    """Another process of this run died or stopped answering."""


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if active() else 1


def rank() -> int:
    return dist.get_rank() if active() else 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def is_main_by_env() -> bool:
    """Is this process 0 of a torchrun run (or not under torchrun at all)? Known before joining."""
    return not launched_by_torchrun() or os.environ.get("RANK") == "0"


def free_port() -> int:
    """A port nothing on 127.0.0.1 uses now (for process 0's rendezvous on one machine)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def init_from_env(device: torch.device) -> torch.device:
    """Join the process group torchrun's environment describes; returns this process's device.

    In a single process (no WORLD_SIZE > 1) it returns `device` unchanged.
    """
    if not launched_by_torchrun() or active():
        return _local_device(device) if active() else device
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"several processes train on the CPU (gloo) or on CUDA GPUs (NCCL), not on {device.type}")
    device = _local_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))
    kwargs = {"device_id": device} if backend == "nccl" else {}
    try:
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout), **kwargs)
    except (RuntimeError, ValueError) as exc:
        raise ProcessGroupFailed(f"could not join the other processes of this run at "
                                 f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')} ({_first_line(exc)})") from None
    atexit.register(shutdown)
    return device


def _local_device(device: torch.device) -> torch.device:
    if device.type != "cuda":
        return device
    local = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    torch.cuda.set_device(local)
    return local


def shutdown() -> None:
    if active():
        dist.destroy_process_group()


def _first_line(exc: BaseException) -> str:
    """The error's first line without gloo's "[.../pair.cc:537] " source location."""
    text = str(exc).strip()
    line = (text.splitlines() or [type(exc).__name__])[0]
    if line.startswith("[") and "] " in line:
        line = line.split("] ", 1)[1]
    return line.split(". This is typically", 1)[0][:160]


def collective(fn: Callable[[], T]) -> T:
    """Run a collective; a peer that died becomes `ProcessGroupFailed` with a message saying so."""
    try:
        return fn()
    except ProcessGroupFailed:
        raise
    except RuntimeError as exc:  # gloo: "Connection closed by peer", timeouts; NCCL: DistBackendError
        raise ProcessGroupFailed(
            f"process {rank()} of {world_size()} lost the others of this run ({_first_line(exc)}); "
            "the last checkpoint resumes: run the same command again") from None


# --- collectives (no-ops in one process) ------------------------------------------------


def all_reduce_sum_(tensors: Sequence[torch.Tensor]) -> None:
    """Sum each tensor over the processes, in place, as one message per dtype."""
    if not active() or not tensors:
        return
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        flat = torch.cat([t.reshape(-1) for t in group])
        collective(lambda: dist.all_reduce(flat))
        offset = 0
        for t in group:
            t.copy_(flat[offset:offset + t.numel()].view_as(t))
            offset += t.numel()


def average_(tensors: Sequence[torch.Tensor]) -> None:
    """Mean of each tensor over the processes, in place (a gradient of a per-process mean loss
    becomes the gradient of the global batch's mean loss)."""
    if not active():
        return
    all_reduce_sum_(tensors)
    for t in tensors:
        t.div_(world_size())


def gather_with_grad(t: torch.Tensor) -> torch.Tensor:
    """`all_gather_cat` that gradients flow back through: each process's rows get the sum over
    the processes of the gradient that reached them (every process computes the same loss of
    the gathered batch; the gradient averaging then divides by the number of processes)."""
    return _GatherWithGrad.apply(t) if active() else t


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, t: torch.Tensor) -> torch.Tensor:
        return all_gather_cat(t)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        all_reduce_sum_([grad])
        n = grad.shape[0] // world_size()
        return grad[rank() * n:(rank() + 1) * n]


def all_gather_cat(t: torch.Tensor) -> torch.Tensor:
    """Every process's `t` (the same shape on each) concatenated along dim 0 in rank order."""
    if not active():
        return t
    t = t.contiguous()
    parts = [torch.empty_like(t) for _ in range(world_size())]
    collective(lambda: dist.all_gather(parts, t))
    return torch.cat(parts)


def broadcast_(tensors: Sequence[torch.Tensor], src: int = 0) -> None:
    """Overwrite every process's tensors with process `src`'s."""
    if not active():
        return
    for t in tensors:
        collective(lambda t=t: dist.broadcast(t, src))


def same_count(n: int, what: str, why: str = "the task's step differs between processes") -> None:
    """Check every process has the same `n` (e.g. tensors about to be reduced), else a clear error."""
    if not active():
        return
    bounds = torch.tensor([n, -n], dtype=torch.int64, device=_collective_device())
    collective(lambda: dist.all_reduce(bounds, op=dist.ReduceOp.MAX))
    if int(bounds[0]) != n or int(-bounds[1]) != n:
        raise ProcessGroupFailed(f"the processes disagree on {what} ({n} here, {int(-bounds[1])}..{int(bounds[0])} "
                                 f"over all): {why}")


def main_says(value: int) -> int:
    """Process 0's `value` on every process (e.g. "stop now", asked of the watcher only process 0 has)."""
    if not active():
        return value
    t = torch.tensor([value], dtype=torch.int64, device=_collective_device())
    collective(lambda: dist.broadcast(t, 0))
    return int(t.item())


def mean_floats(values: dict[str, float]) -> dict[str, float]:
    """Average named numbers over the processes (every process must pass the same names)."""
    if not active() or not values:
        return values
    names = sorted(values)
    same_count(len(names), "which metrics a step reports")
    t = torch.tensor([float(values[k]) for k in names], dtype=torch.float64, device=_collective_device())
    all_reduce_sum_([t])
    return dict(zip(names, (t / world_size()).tolist()))


def barrier() -> None:
    if active():
        collective(lambda: dist.barrier())


def _collective_device() -> torch.device:
    """Where small bookkeeping tensors live: NCCL only moves CUDA tensors."""
    if active() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# --- randomness that must match one process's -------------------------------------------
#
# Inside a training step (`sharded_step`) every process draws the random numbers of the whole
# global batch, from the same random state (the trainer seeds it per step; a task's own
# generators advance alike on every process), and keeps its own rows: N processes with n
# rows each draw exactly what one process with N*n rows draws, so runs match whatever N is.
# Outside a step (evaluation, sampling, one process) these are the identity.

_sharding = False


@contextlib.contextmanager
def sharded_step():
    """The trainer wraps each training step in this; the helpers below shard only inside it."""
    global _sharding
    _sharding = active()
    try:
        yield
    finally:
        _sharding = False


def sharding() -> bool:
    return _sharding


def global_rows(n: int) -> int:
    """How many rows of random numbers to draw for a local batch of n rows."""
    return n * world_size() if _sharding else n


def my_rows(t: T) -> T:
    """This process's rows of something drawn for the global batch (tensor, array or list)."""
    if not _sharding:
        return t
    n = len(t) // world_size()
    return t[rank() * n:(rank() + 1) * n]


def gather_rows(t: torch.Tensor) -> torch.Tensor:
    """The global batch's rows of `t` (e.g. labels to draw prompts for), inside a step."""
    return all_gather_cat(t) if _sharding else t


def shard_randn(n: int, *shape: int, device: torch.device | str | None = None,
                dtype: torch.dtype | None = None) -> torch.Tensor:
    """torch.randn(n, *shape) for this process's rows of the global batch."""
    return my_rows(torch.randn(global_rows(n), *shape, device=device, dtype=dtype))
