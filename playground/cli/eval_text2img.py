"""`playground eval text2img`: prompt adherence and diversity over a range of guidance scales.

Writes OUT/text2img_eval.json (every number, per prompt too), OUT/text2img_eval.png (the
trade-off plot) and OUT/samples_w{W}.png (one row of samples per prompt at each w), and
prints the table as Markdown.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ..core import checks
from ..core.assets import open_model
from ..core.device import pick_device

ATTRIBUTE_COLOURS = {"shape": (200, 90, 40), "color": (160, 60, 170), "size": (60, 150, 60), "position": (40, 120, 190)}


def add_parser(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("text2img", help="prompt adherence and diversity of a text-to-image model over w")
    parser.add_argument("--checkpoint", help="text2img checkpoint (default: the shipped text2img-shapes)")
    parser.add_argument("--classifier", help="attribute classifier (default: the shipped classifier-shapes)")
    parser.add_argument("--scales", type=checks.guidance_scales, default=",".join(f"{w:g}" for w in _default_scales()),
                        help="guidance scales w, comma-separated")
    parser.add_argument("--prompts", help="a text file with one prompt a line (default: 12 full captions + 6 partial)")
    parser.add_argument("--full-prompts", type=checks.IntRange(0, 432, "4 shapes x 6 colours x 2 sizes x 9 positions"),
                        default=12, help="number of full captions in the default set")
    parser.add_argument("--n", type=checks.sample_count, default=8, help="samples per prompt and w")
    parser.add_argument("--sampler", choices=("ddpm", "ddim"), default="ddim")
    parser.add_argument("--steps", type=checks.positive_int, default=25, help="inference steps")
    parser.add_argument("--guidance-start", type=checks.fraction, default=0.0)
    parser.add_argument("--guidance-stop", type=checks.fraction, default=1.0)
    parser.add_argument("--classifier-guidance", type=checks.classifier_scale, default=0.0, metavar="S",
                        help="add classifier guidance of scale S toward each prompt's attributes (0: CFG alone)")
    parser.add_argument("--noisy-classifier", help="the classifier on x_t that guides "
                        "(default: the shipped noisy-classifier-shapes)")
    parser.add_argument("--seed", type=checks.seed, default=0)
    parser.add_argument("--batch-size", type=checks.batch_size, default=96, help="images per sampling batch")
    parser.add_argument("--out-dir", required=True, help="where the JSON, the plot and the sample grids go")
    parser.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="auto")
    parser.set_defaults(run=run)


def _default_scales() -> tuple[float, ...]:
    from ..core.text2img.evaluation import DEFAULT_SCALES

    return DEFAULT_SCALES


def run(args: argparse.Namespace) -> int:
    import torch

    from ..core.evaluation.charts import line_chart_image
    from ..core.data.shapes import parse_prompt
    from ..core.text2img.evaluation import (
        best_scale, default_prompts, evaluate_guidance, format_table, summaries_to_json,
    )
    from ..core.images import atomic_path, save_png
    from ..core.provenance import helper_header, model_header, picture_recipe
    from ..core.text2img.render import evaluation_samples_picture
    from ..core.text2img.sampling import GuidedSettings

    if args.threads:
        torch.set_num_threads(args.threads)
    scales = list(args.scales)  # checked by checks.guidance_scales
    if args.prompts:
        prompts = [line.strip() for line in Path(args.prompts).read_text().splitlines() if line.strip()]
    else:
        prompts = default_prompts(args.full_prompts)
    for prompt in prompts:
        parse_prompt(prompt)
    if not prompts:
        raise ValueError(f"{args.prompts}: no prompts in this file (one a line)")
    checks.check_seed_span(args.seed, len(prompts) * args.n)  # image j of prompt p is seeded seed + p n + j
    device = pick_device(args.device)
    loaded = open_model(args.checkpoint, ("text2img",), device)
    checks.check_steps(args.steps, loaded.model.noise_schedule.num_train_timesteps)
    judge = open_model(args.classifier, ("classifier",), device)
    settings = GuidedSettings(sampler=args.sampler, steps=args.steps, guidance_start=args.guidance_start,
                              guidance_stop=args.guidance_stop, seed=args.seed, clip_x0=True,
                              classifier_scale=args.classifier_guidance).validate()
    noisy, helpers = None, {}
    if args.classifier_guidance > 0:
        from ..core.text2img.denoiser import check_classifier_matches

        noisy_loaded = open_model(args.noisy_classifier, ("noisy-classifier",), device)
        noisy, helpers = noisy_loaded.model, helper_header("classifier", noisy_loaded)
        check_classifier_matches(noisy, loaded.model)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{loaded.name} ({loaded.meta.steps} training steps): {len(prompts)} prompts x {args.n} samples at "
          f"w = {', '.join(f'{w:g}' for w in scales)}, {args.sampler.upper()}-{args.steps}"
          + (f", classifier guidance s = {args.classifier_guidance:g}" if noisy is not None else ""), file=sys.stderr)
    started = time.perf_counter()

    def on_scale(summary, images: np.ndarray) -> None:
        save_png(out / f"samples_w{summary.guidance_scale:g}.png", evaluation_samples_picture(images), picture_recipe(
            loaded, "evaluation-samples", **settings.replace(guidance_scale=summary.guidance_scale).to_recipe(loaded.name),
            rows=prompts, n=args.n, batch_size=args.batch_size, **helpers))
        print(f"  w = {summary.guidance_scale:g}: all four right {summary.full_all_correct:.1%}, partial prompts "
              f"{summary.partial_adherence:.1%}, diversity {summary.mean_diversity:.2f}, clean {summary.clean:.1%} "
              f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    summaries = evaluate_guidance(loaded.model, judge.model, prompts, scales, args.n, settings, on_scale, noisy,
                                  batch_size=args.batch_size)
    best = best_scale(summaries)
    report = model_header(loaded) | {
        "classifier": str(judge.path), "prompts": prompts, "n": args.n, "sampler": args.sampler, "steps": args.steps,
        "guidance_start": args.guidance_start, "guidance_stop": args.guidance_stop, "seed": args.seed,
        "classifier_guidance": args.classifier_guidance,
        "best_guidance_scale": best.guidance_scale, "best_full_all_correct": best.full_all_correct,
        "seconds": round(time.perf_counter() - started, 1), "scales": summaries_to_json(summaries),
    }
    report = _nan_as_null(report)  # no full prompts: no "all four right" share to report
    with atomic_path(out / "text2img_eval.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    series = {"full prompts: all 4 right": ([s.full_all_correct for s in summaries], (20, 20, 20)),
              "partial prompts: named right": ([s.partial_adherence for s in summaries], (120, 120, 120)),
              "clean single shape": ([s.clean for s in summaries], (200, 160, 40))}
    for name, colour in ATTRIBUTE_COLOURS.items():
        series[f"diversity: open {name}"] = ([s.diversity.get(name, float("nan")) for s in summaries], colour)
    chart = line_chart_image(scales, series, title=f"{loaded.name} ({loaded.meta.steps} steps): adherence and "
                             "diversity against the guidance scale w", x_label="guidance scale w",
                             y_label="share / normalised entropy", width=1100)
    numbers = {k: v for k, v in report.items() if k not in ("scales", "classifier")}  # the judge is no guide
    save_png(out / "text2img_eval.png", chart, picture_recipe(loaded, "evaluation-chart", **numbers, judge=str(judge.path)))
    print(format_table(summaries))
    print(f"best w = {best.guidance_scale:g}: all four attributes right {best.full_all_correct:.1%} "
          f"(target 95%); wrote {out}/text2img_eval.json, text2img_eval.png, samples_w*.png")
    return 0


def _nan_as_null(value):
    """JSON has no NaN: a share that is not defined (no prompt of that kind) is written as null."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _nan_as_null(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_as_null(v) for v in value]
    return value
