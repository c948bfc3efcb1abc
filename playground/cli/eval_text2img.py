"""`playground eval text2img`: prompt adherence and diversity over the guidance scale, for every diffusion family.

The checkpoint may be the pixel text-to-image model (default), a latent denoiser (ldm,
dit, sit: `--checkpoint assets/ldm-shapes` or `--family ldm`), or the unconditional pixel
DDPM (ddpm: no prompts, so only the unconditional and steps measurements). Each samples
with its family's default sampler unless told (text2img DDIM-25, ldm/dit DDIM-50, sit
Heun-10, ddpm DDIM-50).

Writes OUT/FAMILY_eval.json (every number, per prompt too), OUT/FAMILY_eval.md (the tables),
OUT/FAMILY_eval.png (the trade-off plot) and OUT/samples_w{W}.png (one row of samples per
prompt at each w), and prints the tables as Markdown. `--unconditional N` adds N samples
of the empty prompt (clean share, combinations covered), `--steps-table` adherence and
cleanliness against the number of steps at the best w, and `--record-best` writes the best
w into the checkpoint's JSON (extra.default_guidance) once everything else succeeded.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ..core import checks

ATTRIBUTE_COLOURS = {"shape": (200, 90, 40), "color": (160, 60, 170), "size": (60, 150, 60), "position": (40, 120, 190)}
FAMILIES = ("text2img", "ldm", "dit", "sit", "ddpm")  # core.text2img.report.EVAL_FAMILIES, without importing torch
SAMPLERS = ("ddpm", "ddim", "euler", "heun", "sde")


def steps_list(text: str) -> tuple[int, ...]:
    """--steps-table: comma-separated whole numbers >= 1."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise argparse.ArgumentTypeError("a comma-separated list of step counts, e.g. 1,2,5,10,20,50; got nothing")
    return tuple(checks.positive_int(p) for p in parts)


def add_parser(kinds: argparse._SubParsersAction) -> None:
    parser = kinds.add_parser("text2img", help="prompt adherence and diversity of a text-guided diffusion model over w "
                              "(text2img, ldm, dit, sit; ddpm: unconditional only)")
    parser.add_argument("--checkpoint", help="the model (default: the shipped checkpoint of --family)")
    parser.add_argument("--family", choices=FAMILIES, help="which shipped model when no --checkpoint (default text2img)")
    parser.add_argument("--classifier", help="attribute classifier (default: the shipped classifier-shapes)")
    parser.add_argument("--scales", type=checks.guidance_scales, default=",".join(f"{w:g}" for w in _default_scales()),
                        help="guidance scales w, comma-separated")
    parser.add_argument("--prompts", help="a text file with one prompt a line (default: 12 full captions + 6 partial)")
    parser.add_argument("--full-prompts", type=checks.IntRange(0, 432, "4 shapes x 6 colours x 2 sizes x 9 positions"),
                        default=12, help="number of full captions in the default set")
    parser.add_argument("--n", type=checks.sample_count, default=8, help="samples per prompt and w")
    parser.add_argument("--sampler", choices=SAMPLERS, help="default: the family's (ddim; heun for sit)")
    parser.add_argument("--steps", type=checks.positive_int, help="inference steps (default: the family's: "
                        "25 for text2img, 50 for ldm/dit/ddpm, 10 for sit)")
    parser.add_argument("--guidance-start", type=checks.fraction, default=0.0)
    parser.add_argument("--guidance-stop", type=checks.fraction, default=1.0)
    parser.add_argument("--classifier-guidance", type=checks.classifier_scale, default=0.0, metavar="S",
                        help="add classifier guidance of scale S toward each prompt's attributes (0: CFG alone; "
                        "pixel text2img only)")
    parser.add_argument("--noisy-classifier", help="the classifier on x_t that guides "
                        "(default: the shipped noisy-classifier-shapes)")
    parser.add_argument("--unconditional", type=checks.IntRange(0, checks.MAX_SAMPLES), default=0, metavar="N",
                        help="also judge N samples of the empty prompt: clean share, combinations covered "
                        "(the bar: 300 of 432 in 1000); ddpm: default 256")
    parser.add_argument("--steps-table", type=steps_list, nargs="?", const=(1, 2, 5, 10, 20, 50), metavar="LIST",
                        help="also measure adherence and cleanliness at each number of steps (default list "
                        "1,2,5,10,20,50), at the best w, on the full prompts")
    parser.add_argument("--record-best", action="store_true", help="write the best w (highest all-four-right, "
                        "ties: the smaller) into the checkpoint's JSON as extra.default_guidance")
    parser.add_argument("--seed", type=checks.seed, default=0)
    parser.add_argument("--batch-size", type=checks.batch_size, default=96, help="images per sampling batch")
    parser.add_argument("--out-dir", required=True, help="where the JSON, the tables, the plot and the sample grids go")
    parser.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="auto")
    parser.set_defaults(run=run)


def _default_scales() -> tuple[float, ...]:
    from ..core.text2img.evaluation import DEFAULT_SCALES

    return DEFAULT_SCALES


def run(args: argparse.Namespace) -> int:
    import torch

    from ..core.assets import open_model
    from ..core.data.shapes import parse_prompt
    from ..core.device import pick_device
    from ..core.images import atomic_path
    from ..core.text2img.evaluation import default_prompts, is_text_guided
    from ..core.text2img.report import EVAL_FAMILIES, evaluation_settings, nan_as_null, record_default_guidance

    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    families = (args.family,) if args.family else EVAL_FAMILIES
    loaded = open_model(args.checkpoint, families, device)
    family, model = loaded.family, loaded.model
    guided = is_text_guided(model)
    if args.record_best and not guided:
        raise ValueError(f"--record-best: a {family} model takes no prompt, so it has no guidance scale to record")
    if args.classifier_guidance > 0 and family != "text2img":
        raise ValueError(f"--classifier-guidance: the noisy classifier reads pixels; a {family} model samples latents")
    if guided:
        prompts = ([line.strip() for line in Path(args.prompts).read_text().splitlines() if line.strip()]
                   if args.prompts else default_prompts(args.full_prompts))
        for prompt in prompts:
            parse_prompt(prompt)
        if not prompts:
            raise ValueError(f"{args.prompts}: no prompts in this file (one a line)")
    else:
        prompts = []
    unconditional = args.unconditional or (0 if guided else 256)
    checks.check_seed_span(args.seed, max(len(prompts) * args.n, unconditional))  # image j of prompt p: seed + p n + j
    settings = evaluation_settings(family, args.sampler, args.steps, guidance_start=args.guidance_start,
                                   guidance_stop=args.guidance_stop, seed=args.seed,
                                   classifier_scale=args.classifier_guidance)
    settings = _check_settings(settings, model, args)
    judge = open_model(args.classifier, ("classifier",), device)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report: dict = {"classifier": str(judge.path), "sampler": settings.sampler, "steps": settings.steps,
                    "seed": args.seed, "n": args.n}
    tables: list[str] = [f"# {loaded.name} ({family}, {loaded.meta.steps} training steps), "
                         f"{settings.sampler.upper()}-{settings.steps}"]
    best_w = None
    if guided:
        best = _guidance_sweep(loaded, judge, prompts, settings, args, out, report, tables, started)
        best_w = best.guidance_scale
    if unconditional:
        _unconditional(loaded, judge, unconditional, settings, args, report, tables)
    if args.steps_table:
        _steps_sweep(loaded, judge, prompts, unconditional, settings.replace(guidance_scale=best_w or 0.0), args,
                     report, tables)
    report["seconds"] = round(time.perf_counter() - started, 1)
    from ..core.provenance import model_header

    report = nan_as_null(model_header(loaded) | report)
    with atomic_path(out / f"{family}_eval.json") as tmp:
        tmp.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    with atomic_path(out / f"{family}_eval.md") as tmp:
        tmp.write_text("\n\n".join(tables) + "\n")
    print("\n\n".join(tables[1:]))
    if args.record_best:
        path = record_default_guidance(loaded.path, best_w, loaded.meta)
        print(f"recorded default_guidance = {best_w:g} in {path}")
    print(f"wrote {out}/{family}_eval.json, {family}_eval.md" + (f", {family}_eval.png, samples_w*.png" if guided else "")
          + f" ({report['seconds']:.0f} s)", file=sys.stderr)
    return 0


def _check_settings(settings, model, args: argparse.Namespace):
    """Every number and the sampler against the model before any sampling (one-line errors); the settings
    as the model runs them."""
    from ..core.text2img.sampling import step_limit

    limit = step_limit(model)
    checks.check_steps(settings.steps, limit)
    for count in args.steps_table or ():
        checks.check_steps(count, limit, "--steps-table")
    return settings.for_model(model)


def _guidance_sweep(loaded, judge, prompts, settings, args, out: Path, report: dict, tables: list[str], started: float):
    """The table over w: adherence, cleanliness, diversity; samples and the plot as PNGs. Returns the best w's summary."""
    from ..core.evaluation.charts import line_chart_image
    from ..core.images import save_png
    from ..core.provenance import helper_header, picture_recipe
    from ..core.text2img.evaluation import best_scale, evaluate_guidance, format_table, summaries_to_json
    from ..core.text2img.render import evaluation_samples_picture

    scales = list(args.scales)  # checked by checks.guidance_scales
    noisy, helpers = None, {}
    if args.classifier_guidance > 0:
        from ..core.assets import open_model
        from ..core.device import model_device
        from ..core.text2img.denoiser import check_classifier_matches

        noisy_loaded = open_model(args.noisy_classifier, ("noisy-classifier",), model_device(loaded.model))
        noisy, helpers = noisy_loaded.model, helper_header("classifier", noisy_loaded)
        check_classifier_matches(noisy, loaded.model)
    print(f"{loaded.name} ({loaded.meta.steps} training steps): {len(prompts)} prompts x {args.n} samples at "
          f"w = {', '.join(f'{w:g}' for w in scales)}, {settings.sampler.upper()}-{settings.steps}"
          + (f", classifier guidance s = {args.classifier_guidance:g}" if noisy is not None else ""), file=sys.stderr)

    def on_scale(summary, images: np.ndarray) -> None:
        recipe = settings.replace(guidance_scale=summary.guidance_scale).to_recipe(loaded.name, loaded.family)
        save_png(out / f"samples_w{summary.guidance_scale:g}.png", evaluation_samples_picture(images), picture_recipe(
            loaded, "evaluation-samples", **recipe, rows=prompts, n=args.n, batch_size=args.batch_size, **helpers))
        print(f"  w = {summary.guidance_scale:g}: all four right {summary.full_all_correct:.1%}, clean "
              f"{summary.full_clean:.1%}, partial prompts {summary.partial_adherence:.1%}, diversity "
              f"{summary.mean_diversity:.2f} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)

    summaries = evaluate_guidance(loaded.model, judge.model, prompts, scales, args.n, settings, on_scale, noisy,
                                  batch_size=args.batch_size)
    best = best_scale(summaries)
    report |= {"prompts": prompts, "guidance_start": args.guidance_start, "guidance_stop": args.guidance_stop,
               "classifier_guidance": args.classifier_guidance, "best_guidance_scale": best.guidance_scale,
               "best_full_all_correct": best.full_all_correct, "scales": summaries_to_json(summaries)}
    tables += [format_table(summaries), f"best w = {best.guidance_scale:g}: all four attributes right "
               f"{best.full_all_correct:.1%} (target 95%), clean {best.full_clean:.1%} (target 90%), drawn as rendered "
               f"{best.full_drawn:.1%}"]
    series = {"full prompts: all 4 right": ([s.full_all_correct for s in summaries], (20, 20, 20)),
              "partial prompts: named right": ([s.partial_adherence for s in summaries], (120, 120, 120)),
              "clean single shape": ([s.clean for s in summaries], (200, 160, 40))}
    for name, colour in ATTRIBUTE_COLOURS.items():
        series[f"diversity: open {name}"] = ([s.diversity.get(name, float("nan")) for s in summaries], colour)
    chart = line_chart_image(scales, series, title=f"{loaded.name} ({loaded.meta.steps} steps): adherence and "
                             "diversity against the guidance scale w", x_label="guidance scale w",
                             y_label="share / normalised entropy", width=1100)
    numbers = {k: v for k, v in report.items() if k not in ("scales", "classifier")}  # the judge is no guide
    from ..core.text2img.report import nan_as_null

    save_png(out / f"{loaded.family}_eval.png", chart,
             picture_recipe(loaded, "evaluation-chart", **nan_as_null(numbers), judge=str(judge.path)))
    return best


def _unconditional(loaded, judge, n: int, settings, args, report: dict, tables: list[str]) -> None:
    from ..core.text2img.report import format_unconditional, unconditional_report

    print(f"  unconditional: {n} samples ...", file=sys.stderr)
    result = unconditional_report(loaded.model, judge.model, n, settings, args.batch_size)
    report["unconditional"] = result.__dict__
    tables.append(format_unconditional(result))


def _steps_sweep(loaded, judge, prompts, unconditional: int, settings, args, report: dict, tables: list[str]) -> None:
    from dataclasses import asdict

    from ..core.data.shapes import parse_prompt
    from ..core.text2img.evaluation import is_text_guided
    from ..core.text2img.report import format_steps_table, steps_table

    guided = is_text_guided(loaded.model)
    full = [p for p in prompts if all(v is not None for v in parse_prompt(p).labels)]
    if guided and not full:
        raise ValueError("--steps-table measures adherence on full prompts; the prompt set has none")
    print(f"  steps table: {', '.join(map(str, args.steps_table))} steps" + (
        f" at w = {settings.guidance_scale:g}, {len(full)} full prompts x {args.n}" if guided else
        f", {unconditional} unconditional samples"), file=sys.stderr)
    rows = steps_table(loaded.model, judge.model, list(args.steps_table), settings, full,
                       args.n if guided else unconditional, args.batch_size)
    report["steps_table"] = {"guidance_scale": settings.guidance_scale if guided else None,
                             "rows": [asdict(r) for r in rows]}
    label = settings.sampler.upper()
    what = f"{len(full)} full prompts x {args.n} at w = {settings.guidance_scale:g}" if guided else \
        f"{unconditional} unconditional samples"
    note = "" if settings.sampler not in ("ddpm", "ddim") else (
        "\n\n(DDIM/DDPM steps are spaced as diffusers' default, \"leading\": one step is a single step at t = 0, "
        "which returns x_T; the flow solvers always start at pure noise.)")
    tables.append(f"Against the number of {label} steps ({what}):\n\n" + format_steps_table(rows, label) + note)
