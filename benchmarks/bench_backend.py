"""Inference backends on this CPU: eager torch beside ONNX Runtime (core/backends), in one run.

    python benchmarks/bench_backend.py [--threads N] [--repeats R] [--skip-latent] [--skip-tokens]

Prints, with N torch / ONNX Runtime intra-op threads (default: torch's default, every core,
as `playground sample` runs); with one thread the times are the computing thread's CPU time
(both runtimes then compute on the calling thread), so a busy machine inflates them less:
- the measured peak: a 2048^3 fp32 matmul in torch, GFLOP/s (the denominator of the fractions);
- the shipped text2img U-Net, batch 1 and 2 forward: eager vs ONNX (ms, median wall), the
  achieved GFLOP/s (FLOPs from torch.utils.flop_counter) and its fraction of the peak;
  targets: batch 1 at most 7 ms;
- a guided DDIM-50 run of one 32x32 image (batch-2 forwards): eager vs ONNX wall time and
  their ratio; targets: at most 0.5 s, at least 2x;
- with 2+ threads, ONNX two ways: "onnx" one session takes the whole batch with every thread,
  "split" (what the backend runs) a batch of 2+ as two concurrent halves, each its own session
  with half the threads (core/backends/onnx_runtime.py); with one thread they are the same path;
- the same for the latent denoisers (ldm, dit: guided DDIM-50; sit: guided Heun-10);
- the autoregressive dalle: image tokens per second (eager torch: its KV-cached steps are not
  exported);
- scheduler steps (DDPM-1000, DDIM-50 eta 0 and eta 1) vs diffusers' on the same tensors,
  noise drawn inside the step; target: at least 3x faster.

The ONNX sessions come from the backend's own build (exported once, cached, checked against
torch to 1e-4); this script uses a private cache folder, so the export time is printed too.
Wall times (more than one thread) inflate on a machine busy with other jobs (the load average is printed).

Measured 2026-12-05 on the 2-core AMD EPYC (Zen 4), `--threads 1 --repeats 3`, load average 10-14 (other
jobs running: CPU times hold roughly, wall times do not; a 2-thread run could not be measured idle):
    peak: 88 GFLOP/s (one core)
    U-Net batch 1 (0.51 GFLOP): eager 12.2 ms (47% of peak) | onnx 6.8 ms (85%) | 1.8x
    U-Net batch 2: eager 19.5 ms (59%) | onnx 12.4 ms (93%) | 1.6x
    guided DDIM-50 32x32: eager 1.00 s | onnx 0.65 s | 1.54x (all but ~30 ms is the 50 batch-2 forwards,
        already at 93% of one core's matmul peak: the 0.5 s target needs the second core)
    ldm batch 2: eager 12.6 ms | onnx 5.7 ms (2.2x); guided DDIM-50: 0.64 s | 0.33 s (1.9x)
    dit batch 2: eager 8.3 ms | onnx 4.4 ms (1.9x); guided DDIM-50: 0.39 s | 0.24 s (1.6x)
    sit batch 2: eager 8.7 ms | onnx 4.9 ms (1.8x); guided Heun-10: 0.16 s | 0.09 s (1.7x)
    dalle (eager): 278 tokens/s one image at a time, 2058 tokens/s for 16 at once
    schedulers vs diffusers: DDPM 3.8x, DDIM eta 0 5.3-5.7x, eta 1 3.1-3.5x (was 2.6x)

Measured 2026-12-05 04:25-04:30 UTC, same machine, `--threads 2 --repeats 3 --skip-tokens`, nearly idle
(load average 0.2-2.5 falling, no other process above 25% CPU when each run started; 4 runs):
    peak: 187-193 GFLOP/s (both cores)
    U-Net batch 1: eager 7.8-8.4 ms | onnx 4.2-4.3 ms (61-63% of the 2-core peak) | 1.8-2.0x
    U-Net batch 2: eager 11.4-11.7 ms | onnx (one session, 2 threads) 7.3-7.5 ms | split (two 1-thread
        halves at once) 5.7-5.9 ms (90-92% of the 2-core peak) | 2.0x
    guided DDIM-50 32x32: eager 0.61-0.77 s | onnx 0.40-0.42 s (1.5-1.9x) | split 0.31-0.35 s (1.85-2.45x;
        of it ~20 ms outside the network, ~12 ms waiting for the second half)
    ldm guided DDIM-50: eager 0.52 s | onnx 0.20 s | split 0.16 s (3.2x); dit: 0.30 | 0.19 | 0.11 s (2.8x);
    sit guided Heun-10: 0.10 | 0.06 | 0.05 s (2.0x)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from playground.core.backends import BackendModel, choose_backend, forget_builds, runtime_version
from playground.core.checkpoints import load_checkpoint
from playground.core.assets import default_checkpoint

PROMPT = "a large red circle at the top left"


# With one thread, torch and ONNX Runtime both compute on the calling thread: its CPU time is the cost,
# whatever else the machine runs. With more, the pools' threads work too: wall time.
CLOCK: Callable[[], float] = time.perf_counter


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 3, clock: Callable[[], float] | None = None) -> float:
    """Median milliseconds of fn() by `clock` (default `CLOCK`)."""
    clock = clock or CLOCK
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times) * 1000


def peak_gflops(repeats: int) -> float:
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    ms = median_ms(lambda: a @ b, repeats, warmup=2)
    return 2 * n**3 / (ms / 1000) / 1e9


def forward_flops(model: torch.nn.Module, *inputs: torch.Tensor, **kwargs) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        model(*inputs, **kwargs)
    return counter.get_total_flops()


def onnx_of(model: torch.nn.Module) -> tuple[dict[str, torch.nn.Module], str]:
    """The ways this run compares: eager torch, the ONNX session unsplit, and (2+ threads) split."""
    start = time.perf_counter()
    choice = choose_backend(model, "onnx")
    if choice.name != "onnx":
        sys.exit(f"no ONNX session: {choice.note}")
    build = choice.build
    plain = BackendModel(model, choice.model.runner)
    plain.split = False
    ways = {"eager": model, "onnx": plain}
    if torch.get_num_threads() >= 2:
        ways["split"] = choice.model
    return ways, (f"export + check {time.perf_counter() - start:.1f} s, max |onnx - torch| "
                  f"{build.max_difference:.1e}")


def bench_forwards(name: str, ways, cond_of, repeats: int, peak: float) -> None:
    model = ways["eager"]
    for batch in (1, 2):
        x = torch.randn(batch, *shape_of(model))
        t = torch.full((batch,), 500)
        cond = cond_of(batch)
        flops = forward_flops(model, x, t, cond=cond)
        cells = []
        for way, net in ways.items():
            if way == "split" and batch == 1:
                continue  # one image: nothing to split, the same path as "onnx"
            with torch.inference_mode():
                ms = median_ms(lambda: net(x, t, cond=cond), repeats)
            rate = flops / (ms / 1000) / 1e9
            cells.append((way, ms, rate))
        eager = cells[0][1]
        print(f"  {name} forward, batch {batch} ({flops / 1e9:.2f} GFLOP): " + " | ".join(
            f"{way} {ms:6.2f} ms ({rate:5.1f} GFLOP/s, {rate / peak:5.1%} of peak"
            + (")" if way == "eager" else f", {eager / ms:.2f}x)") for way, ms, rate in cells))


def shape_of(model) -> tuple[int, ...]:
    from playground.core.text2img.sampling import image_shape

    return image_shape(model)


def bench_run(label: str, ways, settings, repeats: int) -> None:
    from playground.core.text2img.sampling import generate

    seconds = {way: median_ms(lambda: generate(net, settings, 1), repeats, warmup=1) / 1000
               for way, net in ways.items()}
    eager = seconds["eager"]
    print(f"  {label}: eager {eager:.3f} s | " + " | ".join(
        f"{way} {s:.3f} s ({eager / s:.2f}x)" for way, s in seconds.items() if way != "eager"))


def bench_pixel(repeats: int, peak: float) -> None:
    from playground.core.text2img.sampling import GuidedSettings

    loaded = load_checkpoint(default_checkpoint("text2img"))
    model = loaded.model
    ways, built = onnx_of(model)
    print(f"text2img U-Net ({loaded.name}, {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters; {built})")
    bench_forwards("U-Net", ways, lambda b: model.embed(None, b), repeats * 4, peak)
    settings = GuidedSettings(prompt=PROMPT, guidance_scale=3.0, steps=50).validate()
    bench_run("guided DDIM-50, one 32x32 image (target <= 0.5 s, >= 2x)", ways, settings, repeats)


def bench_latent(repeats: int, peak: float) -> None:
    from playground.core.latent_diffusion.sampling import default_settings

    for family in ("ldm", "dit", "sit"):
        try:
            loaded = load_checkpoint(default_checkpoint(family))
        except Exception as exc:  # noqa: BLE001 - a checkpoint being trained may be missing
            print(f"{family}: skipped ({exc})")
            continue
        model = loaded.model
        ways, built = onnx_of(model)
        print(f"{family} ({loaded.name}; {built})")
        bench_forwards("denoiser", ways, lambda b: model.embed(None, b), repeats * 4, peak)
        settings = default_settings(loaded, prompt=PROMPT)
        bench_run(f"guided {settings.sampler}-{settings.steps} w={settings.guidance_scale:g}, one image",
                  ways, settings, repeats)


def bench_tokens(repeats: int) -> None:
    from playground.core.tokens.sampling import TokenSettings, sample_tokens

    try:
        loaded = load_checkpoint(default_checkpoint("dalle"))
    except Exception as exc:  # noqa: BLE001
        print(f"dalle: skipped ({exc})")
        return
    model = loaded.model
    settings = TokenSettings(guidance=3.0)
    tokens = model.config.image_tokens
    for n in (1, 16):
        ms = median_ms(lambda: sample_tokens(model, PROMPT, settings, n=n), repeats, warmup=1)
        print(f"dalle ({loaded.name}), guided, {n} image(s) at once: {n * tokens / (ms / 1000):7.0f} tokens/s "
              f"(eager torch; {ms:.0f} ms for {n} x {tokens} tokens)")


def bench_schedulers(repeats: int) -> None:
    from playground.core.diffusion.schedules import NoiseSchedule
    from playground.core.diffusion.schedulers import make_scheduler

    try:
        import diffusers
    except ImportError:
        print("scheduler steps: skipped (diffusers not installed)")
        return
    schedule = NoiseSchedule.from_name("cosine", 1000)
    x, eps = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 32, 32)
    print("scheduler step, one 3x32x32 image, noise drawn inside the step, CPU time of this thread "
          "(target: >= 3x faster than diffusers)")
    for label, kind, steps, eta in (("DDPM-1000", "ddpm", 1000, 0.0), ("DDIM-50 eta 0", "ddim", 50, 0.0),
                                    ("DDIM-50 eta 1", "ddim", 50, 1.0)):
        ours = make_scheduler(kind, schedule, steps, eta=eta)
        ref_class = diffusers.DDPMScheduler if kind == "ddpm" else diffusers.DDIMScheduler
        ref = ref_class(beta_schedule="squaredcos_cap_v2", clip_sample=False)
        ref.set_timesteps(steps)
        our_steps, ref_steps = ours.timesteps.tolist(), list(ref.timesteps)
        generator = torch.Generator().manual_seed(0)
        kwargs = {"eta": eta} if kind == "ddim" else {}

        def our_run() -> None:
            for t in our_steps:
                ours.step(eps, t, x, generator=generator)

        def ref_run() -> None:
            for t in ref_steps:
                ref.step(eps, t, x, generator=generator, **kwargs)

        with torch.inference_mode():
            our_us = median_ms(our_run, repeats, 1, time.thread_time) * 1000 / steps
            ref_us = median_ms(ref_run, repeats, 1, time.thread_time) * 1000 / steps
        print(f"  {label:14s}: ours {our_us:6.1f} us | diffusers {ref_us:6.1f} us | {ref_us / our_us:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-latent", action="store_true")
    parser.add_argument("--skip-tokens", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    global CLOCK
    CLOCK = time.thread_time if args.threads == 1 else time.perf_counter
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="bench-backend-")  # the export is timed, not read back
    forget_builds()
    print(f"torch {torch.__version__}, onnxruntime {runtime_version()}, {args.threads} thread(s), "
          f"load average {os.getloadavg()[0]:.1f}; times: "
          + ("CPU time of the one computing thread" if args.threads == 1 else "wall"))
    peak = peak_gflops(args.repeats)
    print(f"peak: 2048^3 fp32 matmul in torch, {peak:.0f} GFLOP/s")
    bench_pixel(args.repeats, peak)
    if not args.skip_latent:
        bench_latent(args.repeats, peak)
    if not args.skip_tokens:
        bench_tokens(args.repeats)
    bench_schedulers(args.repeats * 4)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
