"""Per-step time of a diffusers Stable Diffusion-layout pipeline: the project's loop vs diffusers' own.

    python benchmarks/bench_diffusers.py [--size tiny|small] [--steps 20] [--repeats 3] [--device auto]

One random-weight pipeline is built in a temporary folder (tests/diffusers_pipelines.py: "tiny" is
the tests' 4x8x8 latent with (16, 32) channels, "small" a 4x32x32 latent with (64, 128)) and run on
the same device and dtype (CUDA fp16 when there, CPU fp32 otherwise) with classifier-free guidance
(w 7.5, one prompt, one negative), DDIM eta 0:

- diffusers: StableDiffusionPipeline's loop, the time between its step-end callbacks;
- project, views off: `diffusers_io.sampling.run_steps` (the project's `sample_steps`: every step a
  StepRecord with x_t, eps and x0 copied to the CPU);
- project, views on, step cache: `trace` with `decode_each_step=False` (the render path: each step's
  latent views cached as pictures, decoding deferred to when the steps tab shows them);
- project, views on, decoded each step: `trace` with `decode_each_step=True` (decoded x0 and x_t per step).

Per-step time is the median of the step-to-step intervals over all repeats (the first step of
each run, which includes the prompt encoding, is left out); the loops take turns run by run, so
a machine busy with other work slows each alike. Targets: the project's loop no
slower than diffusers' with the views off; the views cost at most 10% with the step cache on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

SIZES = {"tiny": dict(latent_size=8, channels=(16, 32)), "small": dict(latent_size=32, channels=(64, 128))}
PROMPT, NEGATIVE, W = "an astronaut riding a horse", "blurry", 7.5


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _per_step(stamps: list[float]) -> list[float]:
    return [b - a for a, b in zip(stamps[1:], stamps[2:])]


def diffusers_run(folder: Path, device: torch.device, dtype: torch.dtype, steps: int):
    """A function seed -> the step-end times of one StableDiffusionPipeline run (latents out, no decode)."""
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(folder, dtype=dtype, safety_checker=None,
                                                   requires_safety_checker=False).to(device)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)

    def run(seed: int) -> list[float]:
        stamps = [time.perf_counter()]

        def on_step(pipeline, i, t, kwargs):
            _sync(device)
            stamps.append(time.perf_counter())
            return kwargs

        pipe(PROMPT, negative_prompt=NEGATIVE, guidance_scale=W, num_inference_steps=steps,
             generator=torch.Generator("cpu").manual_seed(seed), output_type="latent", callback_on_step_end=on_step)
        return stamps

    return run


def project_run(model, steps: int, mode: str):
    """A function seed -> the step-end times of one run of the project's loop in `mode` (off, cache, decoded)."""
    from playground.core.device import model_device
    from playground.core.diffusers_io.sampling import denoiser, run_steps
    from playground.core.diffusion.trajectory import SamplerSettings, trace

    device = model_device(model)

    def run(seed: int) -> list[float]:
        stamps = [time.perf_counter()]
        if mode == "off":
            runs = run_steps(model, prompt=PROMPT, negative_prompt=NEGATIVE, guidance_scale=W, steps=steps, seed=seed)
        else:
            runs = trace(denoiser(model, PROMPT, NEGATIVE, W), model.noise_schedule,
                         SamplerSettings("ddim", steps, clip_x0=False), seed, device=device,
                         decode_each_step=mode == "decoded")
        for _ in runs:
            _sync(device)
            stamps.append(time.perf_counter())
        return stamps

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="tiny")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    from diffusers_pipelines import sd_pipeline

    from playground.core.checkpoints import load_checkpoint
    from playground.core.device import describe_device, pick_device

    device = pick_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        folder = sd_pipeline(Path(tmp), **SIZES[args.size])
        loaded = load_checkpoint(folder, device)
        dtype = loaded.model.dtype
        print(f"{args.size} SD-layout pipeline ({loaded.meta.extra['parameters'] / 1e6:.2f}M parameters, latent "
              f"{loaded.model.config.latent_shape}), {describe_device(device)}, {str(dtype)[6:]}, torch threads "
              f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}; guided DDIM-{args.steps}, "
              f"{args.repeats} runs each")
        runners = {"diffusers StableDiffusionPipeline loop": diffusers_run(folder, device, dtype, args.steps)}
        for mode, label in (("off", "project loop, views off (sample_steps)"),
                            ("cache", "project loop, views on, step cache (trace)"),
                            ("decoded", "project loop, views on, decoded each step")):
            runners[label] = project_run(loaded.model, args.steps, mode)
        intervals: dict[str, list[float]] = {label: [] for label in runners}
        for r in range(args.repeats + 1):  # interleaved, so a busy machine slows every loop alike; run 0 warms up
            for label, run in runners.items():
                stamps = run(r)
                if r:
                    intervals[label] += _per_step(stamps)
        rows = list(intervals.items())
    base = statistics.median(rows[0][1])
    plain = statistics.median(rows[1][1])
    print(f"{'':44} {'ms/step':>8} {'vs diffusers':>13} {'vs views off':>13}")
    for label, intervals in rows:
        ms = statistics.median(intervals) * 1e3
        print(f"{label:44} {ms:8.2f} {ms / base / 1e3:12.2f}x {ms / plain / 1e3:12.2f}x")


if __name__ == "__main__":
    main()
