"""The diffusers path on a device, in each precision: parity with diffusers' pipelines and the per-step time.

    python benchmarks/check_diffusers_device.py [--device auto] [--steps 10]

For fp32 and (on CUDA) fp16 and bf16, on tiny random-weight pipelines built here (nothing downloaded):
- DDIM eta 0 of an unconditional v-prediction U-Net vs DDIMPipeline, and guided DDIM of the Stable
  Diffusion layout vs StableDiffusionPipeline, same seeds (generator list, one per image): the largest
  difference per pixel in 1/255 units (fp32 should be < 1; in fp16 diffusers combines the guidance in
  fp16 and the project in fp32, so a few levels are expected);
- the per-step time of both loops (`bench_diffusers.py` has the full table).
Meant as the one short script a GPU session runs (well under a minute on one GPU).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()

    from diffusers import DDIMPipeline, StableDiffusionPipeline
    from diffusers_pipelines import sd_pipeline, unconditional_pipeline

    from playground.core.device import describe_device, pick_device
    from playground.core.diffusers_io.load import load_diffusers
    from playground.core.diffusers_io.sampling import generate

    device = pick_device(args.device)
    precisions = ("fp32", "fp16", "bf16") if device.type == "cuda" else ("fp32",)
    gens = lambda seed, n: [torch.Generator("cpu").manual_seed(seed + i) for i in range(n)]  # noqa: E731
    print(f"{describe_device(device)}; DDIM-{args.steps}, 2 images, seeds 3 and 4")
    with tempfile.TemporaryDirectory() as tmp:
        uncond = unconditional_pipeline(Path(tmp) / "uncond", "v_prediction")
        sd = sd_pipeline(Path(tmp))
        for precision in precisions:
            for folder, kind in ((uncond, "unconditional v"), (sd, "SD layout, w 7.5")):
                loaded = load_diffusers(folder, device, precision)
                dtype = loaded.model.dtype
                prompt = {"prompt": "a red circle", "negative_prompt": "blue", "guidance_scale": 7.5} if folder == sd else {}
                started = time.perf_counter()
                ours = generate(loaded.model, sampler="ddim", steps=args.steps, n=2, seed=3, **prompt)
                ours_time = (time.perf_counter() - started) / args.steps
                if folder == sd:
                    pipe = StableDiffusionPipeline.from_pretrained(folder, dtype=dtype, safety_checker=None,
                                                                   requires_safety_checker=False).to(device)
                    run = lambda: pipe(num_inference_steps=args.steps, num_images_per_prompt=2,  # noqa: E731
                                       generator=gens(3, 2), output_type="np", **prompt).images
                else:
                    pipe = DDIMPipeline.from_pretrained(folder, dtype=dtype).to(device)
                    run = lambda: pipe(batch_size=2, generator=gens(3, 2), num_inference_steps=args.steps,  # noqa: E731
                                       eta=0.0, output_type="np").images
                pipe.set_progress_bar_config(disable=True)
                started = time.perf_counter()
                theirs = torch.from_numpy(run())
                theirs_time = (time.perf_counter() - started) / args.steps
                ours_np = ((ours + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1)
                diff = float((ours_np - theirs).abs().max()) * 255
                print(f"  {precision:5} {kind:18} max diff {diff:6.2f}/255   per step: project "
                      f"{ours_time * 1e3:7.2f} ms, diffusers {theirs_time * 1e3:7.2f} ms (whole runs, incl. decode)")


if __name__ == "__main__":
    main()
