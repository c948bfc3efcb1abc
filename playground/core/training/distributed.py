"""Data-parallel training: what the Trainer does differently as one of several processes.

Each process takes its shard of every batch (`--batch-size` is per process; the global
batch is batch x processes, drawn as one process would draw it and cut in rank order), and
the gradients are averaged over the processes before anything reads them (clipping, the
optimizer). The averaging is the all-reduce DistributedDataParallel uses, hooked on each
weight's gradient accumulation and sent once per backward pass as one flat message per
dtype. DDP's module wrapper does not fit here: it averages only what flows through its own
`forward`, and the tasks call submodules and methods (the GAN's generator and discriminator
with two optimisers, a VQ model's encoder) and run extra backward passes (lazy R1), each of
which this averages too: a second backward adds to gradients already averaged, and the
average of (average + local) is (average + average).

Because the weights start equal (broadcast from process 0) and every process applies the
same averaged gradients, the weights, the optimizer state and the EMA copy stay the same on
every process without further messages. What is not a mean over rows is made global where
it is computed: the VQ codebook's EMA statistics are summed over the processes
(`VectorQuantizer.update_codebook`), CLIP contrasts every image with every caption of the
global batch, the VQGAN's adaptive weight reads the global batch's gradients. Random draws
inside a step (noise, timesteps, prompts, GAN latents) are made for the global batch and cut
per process (`core/distributed.py`: `sharded_step`), so N processes with batch B train what
one process with batch N x B trains, up to float rounding (tests/core/test_distributed.py).
Not so: dropout masks inside a network (the same on every process; off in every shipped
recipe), and autoencoder-kl's latent scale factor, measured on process 0's images.
"""

from __future__ import annotations

import threading
from typing import Callable

from torch import nn
from torch.autograd import Variable

from .. import distributed

HEARTBEAT_S = 2.0  # while process 0's run is paused, it tells the others to wait this often
_GO, _STOP, _WAIT = 0, 1, 2


class GradientAverager:
    """Average every parameter's gradient over the processes at the end of each backward pass."""

    def __init__(self, model: nn.Module):
        # the trainable weights (a frozen first stage or VQ model inside the network never gets gradients)
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.order = {id(p): i for i, p in enumerate(self.params)}
        self.pending: dict[int, nn.Parameter] = {}
        self.handles = [p.register_post_accumulate_grad_hook(self._ready) for p in self.params]

    def _ready(self, param: nn.Parameter) -> None:
        if not self.pending:  # the first gradient of this backward: average them all once it ends
            Variable._execution_engine.queue_callback(self._flush)
        self.pending[id(param)] = param

    def _flush(self) -> None:
        params = sorted(self.pending.values(), key=lambda p: self.order[id(p)])
        self.pending.clear()
        distributed.same_count(len(params), "which weights received gradients")
        grads = [p.grad for p in params]
        distributed.all_reduce_sum_(grads)
        inverse = 1.0 / distributed.world_size()
        for g in grads:
            g.mul_(inverse)


class DataParallel:
    """The Trainer's view of the process group; in one process every method is the identity."""

    def __init__(self, model: nn.Module):
        self.world_size = distributed.world_size()
        self.rank = distributed.rank()
        self.is_main = self.rank == 0
        self.averager = GradientAverager(model) if self.world_size > 1 else None

    def step(self):
        """Context of one training step: random draws for the global batch, cut per process."""
        return distributed.sharded_step()

    def shard(self, global_rows):
        """This process's rows of a global batch (batch x processes rows, in rank order)."""
        if self.world_size == 1:
            return global_rows
        n = len(global_rows) // self.world_size
        return global_rows[self.rank * n:(self.rank + 1) * n]

    def sync_from_main(self, step: int, *modules: nn.Module | None) -> None:
        """Start every process from process 0's weights and buffers (as DDP does), at the same step.

        A process that found another resume state (another machine's --out) would go on with
        another optimizer state: refused, with what to do.
        """
        if self.world_size == 1:
            return
        distributed.same_count(step, "the step this run resumes from",
                               "every process must see the same --out (on several machines: a shared folder)")
        for module in modules:
            if module is not None:
                distributed.broadcast_([t.data for t in (*module.parameters(), *module.buffers())])

    def should_stop(self, asked: Callable[[], bool] | None) -> bool:
        """Process 0 asks (its watcher, its Stop button) and every process follows.

        `asked` may block (a paused run); meanwhile process 0 tells the others to keep
        waiting every HEARTBEAT_S, so a pause longer than the collectives' timeout is not
        mistaken for a lost process.
        """
        if self.world_size == 1:
            return asked is not None and asked()
        if not self.is_main:
            while (said := distributed.main_says(_GO)) == _WAIT:
                pass
            return said == _STOP
        answer: list[bool] = []
        if asked is not None:
            # a daemon thread: if a peer dies during a pause, this process still exits
            asking = threading.Thread(target=lambda: answer.append(bool(asked())), daemon=True, name="should-stop")
            asking.start()
            asking.join(HEARTBEAT_S)
            while asking.is_alive():
                distributed.main_says(_WAIT)
                asking.join(HEARTBEAT_S)
        return distributed.main_says(_STOP if answer and answer[0] else _GO) == _STOP

    def mean_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        """The step's metrics averaged over the processes: what one process on the global batch reports."""
        return distributed.mean_floats(metrics)

    def finished(self) -> None:
        """Wait until process 0 has written the final checkpoint."""
        distributed.barrier()

    def checkpoint_fields(self, batch_size: int) -> dict[str, int]:
        return {"processes": self.world_size, "global_batch_size": batch_size * self.world_size}

    def describe(self, batch_size: int) -> str:
        """For the start line: ", 2 processes (global batch 256)"; nothing in one process."""
        if self.world_size == 1:
            return ""
        return f", {self.world_size} processes (global batch {batch_size * self.world_size})"
