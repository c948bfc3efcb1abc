"""Diffusion speed on this CPU: the denoiser, the sampler's own cost per step, full runs.

    python benchmarks/bench_diffusion.py [--checkpoint assets/ddpm-shapes] [--no-full]

Times are the thread's CPU time (`time.thread_time`), medians over repeats, so other
processes on a busy machine do not inflate them; full runs also give wall-clock time.
Prints, with one torch thread (the GUI worker's setting):
- denoiser forward at batch 1 and 2 under `inference_mode`;
- scheduler step (ours vs diffusers' on the same tensors, noise drawn inside the step)
  for DDPM and DDIM, and the whole sampler overhead per step (`sample_steps` with a
  free model: timestep tensor, noise draw, step, CPU records) as a share of a forward;
  targets: overhead <= 5% of the batch-1 forward, and no slower than diffusers;
- what the step-by-step view's worker adds per step on top of the sampler (`trajectory.trace`:
  the four views as uint8 pictures, the norms, x_t kept to branch from) and a preview's copy
  (`StepPreview.of`, sent at most 30 times a second), as shares of a forward;
- a full DDPM-1000 and a DDIM-50 run of one image with the shipped checkpoint (else a
  fresh model of the shipped config: same cost, untrained output).
diffusers is needed only for the comparison rows (a test/benchmark dependency).

Measured 2026-12-04 on the 2-core AMD EPYC dev machine, shared (load average 1.9), ddpm-shapes
at 10000 training steps:
    denoiser forward: batch 1 14.5 ms, batch 2 20.4 ms (CPU time)
    step, ours vs diffusers: DDPM 56 vs 136 us, DDIM eta 0 16 vs 64 us, DDIM eta 1 36 vs 93 us
    sampler overhead per step: DDPM 60 us (0.41% of a forward), DDIM eta 0 28 us (0.19%), eta 1 46 us (0.32%)
    steps view beyond the sampler: 147 us a step (1.0% of a forward); a preview's copy 7 us
    full DDPM-1000: 13.6 s CPU (13.8 s wall); DDIM-50: 0.61 s CPU (0.62 s wall)
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Callable

import torch

from playground.core.checkpoints import WEIGHTS_NAME, load_checkpoint
from playground.core.diffusion.sampling import sample, sample_steps
from playground.core.diffusion.schedulers import make_scheduler
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "assets" / "ddpm-shapes"


def median_us(fn: Callable[[], object], repeats: int, warmup: int = 5) -> float:
    """Median CPU time of fn() in microseconds (one torch thread: all work is on this thread)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.thread_time_ns()
        fn()
        times.append(time.thread_time_ns() - start)
    return statistics.median(times) / 1000


def load_model(checkpoint: Path) -> tuple[DiffusionModel, str]:
    if (checkpoint / WEIGHTS_NAME).exists():
        loaded = load_checkpoint(checkpoint)
        return loaded.model, f"{loaded.name} ({loaded.meta.steps} training steps)"
    torch.manual_seed(0)
    return DiffusionModel(DDPMConfig()).eval().requires_grad_(False), "fresh model of the shipped config (no checkpoint)"


def bench_forward(model: DiffusionModel, repeats: int) -> dict[int, float]:
    results = {}
    for batch in (1, 2):
        x, t = torch.randn(batch, 3, 32, 32), torch.full((batch,), 500)
        with torch.inference_mode():
            results[batch] = median_us(lambda: model(x, t), repeats)
        print(f"denoiser forward, batch {batch}: {results[batch] / 1000:.2f} ms")
    return results


def bench_scheduler_steps(model: DiffusionModel, forward_us: float, repeats: int) -> None:
    try:
        import diffusers
    except ImportError:
        diffusers = None
        print("(diffusers not installed: no comparison rows)")
    schedule = model.noise_schedule
    beta_schedule = {"linear": "linear", "cosine": "squaredcos_cap_v2"}[schedule.name]
    x, eps = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 32, 32)
    cases = [("DDPM-1000", "ddpm", 1000, 0.0), ("DDIM-50 eta 0", "ddim", 50, 0.0), ("DDIM-50 eta 1", "ddim", 50, 1.0)]
    for label, kind, steps, eta in cases:
        ours = make_scheduler(kind, schedule, steps, eta=eta)  # type: ignore[arg-type]
        timesteps = ours.timesteps.tolist()
        generator = torch.Generator().manual_seed(0)

        def our_run() -> None:
            for t in timesteps:
                ours.step(eps, t, x, generator=generator)

        with torch.inference_mode():
            our_us = median_us(our_run, repeats, warmup=2) / len(timesteps)
        line = f"{label:14s} step: ours {our_us:6.1f} us"
        if diffusers is not None:
            if kind == "ddpm":
                ref = diffusers.DDPMScheduler(beta_schedule=beta_schedule, clip_sample=False)
            else:
                ref = diffusers.DDIMScheduler(beta_schedule=beta_schedule, clip_sample=False)
            ref.set_timesteps(steps)
            ref_timesteps = list(ref.timesteps)  # 0-d tensors, as a diffusers pipeline passes them
            kwargs = {"eta": eta} if kind == "ddim" else {}

            def ref_run() -> None:
                for t in ref_timesteps:
                    ref.step(eps, t, x, generator=generator, **kwargs)

            with torch.inference_mode():
                ref_us = median_us(ref_run, repeats, warmup=2) / len(timesteps)
            line += f", diffusers {ref_us:6.1f} us ({ref_us / our_us:.1f}x ours)"

        # the whole sampler loop with a model that costs nothing: everything beyond the denoiser
        def free_model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return eps

        def loop() -> None:
            for _ in sample_steps(free_model, ours, n=1, seed=0, shape=(3, 32, 32)):
                pass

        overhead_us = median_us(loop, max(5, repeats // 4), warmup=1) / len(timesteps)
        line += (f"; sampler overhead per step {overhead_us:6.1f} us = {100 * overhead_us / forward_us:.2f}% "
                 f"of a batch-1 forward (target <= 5%)")
        print(line)


def bench_trace_overhead(model: DiffusionModel, forward_us: float, repeats: int) -> None:
    """The steps view's per-step cost in its worker beyond `sample_steps` (a free model, DDIM-50)."""
    from playground.core.diffusion.trajectory import SamplerSettings, trace
    from playground.gui.widgets.steps.runs import StepPreview

    eps = torch.randn(1, 3, 32, 32)
    shape = (3, 32, 32)
    settings = SamplerSettings("ddim", 50, 1.0)

    def free_model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return eps

    def plain() -> None:
        for _ in sample_steps(free_model, settings.make(model.noise_schedule), n=1, seed=0, shape=shape):
            pass

    def traced() -> None:
        for _ in trace(free_model, model.noise_schedule, settings, 0, shape=shape):
            pass

    runs = max(5, repeats // 4)
    extra_us = (median_us(traced, runs, warmup=1) - median_us(plain, runs, warmup=1)) / settings.steps
    trajectory = None
    for trajectory in trace(free_model, model.noise_schedule, settings, 0, shape=shape):
        pass
    preview_us = median_us(lambda: StepPreview.of(trajectory), repeats)
    print(f"steps view, per step beyond the sampler: trajectory {extra_us:6.1f} us = "
          f"{100 * extra_us / forward_us:.2f}% of a batch-1 forward; a preview's copy {preview_us:6.1f} us")


def bench_full_runs(model: DiffusionModel) -> None:
    for label, kind, steps in (("DDPM-1000", "ddpm", 1000), ("DDIM-50", "ddim", 50)):
        scheduler = make_scheduler(kind, model.noise_schedule, steps)  # type: ignore[arg-type]
        start, start_cpu = time.perf_counter(), time.thread_time()
        image = sample(model, scheduler, n=1, seed=0)
        seconds, cpu = time.perf_counter() - start, time.thread_time() - start_cpu
        print(f"full {label}, 1 image: CPU {cpu:.2f} s ({1000 * cpu / steps:.2f} ms/step), wall {seconds:.2f} s; "
              f"output range [{image.min():.2f}, {image.max():.2f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--no-full", action="store_true", help="skip the full DDPM-1000 / DDIM-50 runs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model, description = load_model(args.checkpoint)
    print(f"torch {torch.__version__}, 1 thread, {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}; model: {description}")
    forward = bench_forward(model, args.repeats)
    bench_scheduler_steps(model, forward[1], args.repeats)
    bench_trace_overhead(model, forward[1], args.repeats)
    if not args.no_full:
        bench_full_runs(model)


if __name__ == "__main__":
    main()
