"""`playground eval dalle | clip | vqgan`: the token families' quality tables (issue 19's "Quality").

Each writes eval.md beside the weights it measured (and, with --out-dir, eval.md, a JSON of
every number and a picture there too), and prints the tables.

- `eval dalle`: adherence on full prompts over a grid of sampling settings (temperature,
  top-k, top-p, guidance), the best one (--record-best: into the checkpoint's JSON as
  extra.default_sampling), the best with CLIP reranking (--rerank R), the unconditional
  prior's coverage (--unconditional N), bits per dimension against the VAE's ELBO (--likelihood N).
- `eval clip`: zero-shot reading per attribute and top-1 retrieval on fresh renders.
- `eval vqgan`: the vqgan's reconstructions against the VQ-VAEs' (MSE, sharpness, attributes kept).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..core import checks, tokens

def add_parsers(kinds: argparse._SubParsersAction) -> None:
    dalle = kinds.add_parser("dalle", help="dalle: adherence over sampling settings, reranking, the prior, bits/dim")
    dalle.add_argument("--checkpoint", help="the dalle (default: the shipped dalle-shapes)")
    dalle.add_argument("--full-prompts", type=checks.IntRange(1, 432, "4 shapes x 6 colours x 2 sizes x 9 positions"),
                       default=48, help="full captions measured (a fixed seeded subset of the 432)")
    dalle.add_argument("--n", type=checks.sample_count, default=4, help="samples per prompt and setting")
    dalle.add_argument("--temperatures", type=checks.NumberList(tokens.temperature), default=(1.0,),
                       help="comma-separated, as every list here (the grid is every combination)")
    dalle.add_argument("--top-ks", type=checks.NumberList(tokens.top_k), default=(0,), help="0 = off")
    dalle.add_argument("--top-ps", type=checks.NumberList(tokens.top_p), default=(1.0,), help="1 = off")
    dalle.add_argument("--guidances", type=checks.NumberList(tokens.guidance), default=(1.0, 2.0, 3.0, 5.0),
                       help="classifier-free w on the logits (1: the plain conditional model)")
    dalle.add_argument("--rerank", type=tokens.rerank_count, default=1, metavar="R",
                       help="also measure the best setting with CLIP reranking: each sample the best of R candidates")
    dalle.add_argument("--clip", help="the CLIP that reranks (default: the shipped clip-shapes)")
    dalle.add_argument("--unconditional", type=checks.IntRange(0, 100_000), default=0, metavar="N",
                       help="also judge N samples of the empty prompt (bar: 300 of 432 combinations in 1000)")
    dalle.add_argument("--likelihood", type=checks.IntRange(0, 1000), nargs="?", const=1000, default=0, metavar="N",
                       help="bits per dimension on N held-out images (default 1000) against the VAE's ELBO")
    dalle.add_argument("--vae", help="the VAE of the bits/dim table (default: the shipped vae-shapes)")
    dalle.add_argument("--sigmas", type=checks.NumberList(checks.FloatRange(0.0, 2.0, low_open=True)),
                       default=(0.02, 0.05, 0.1), help="decoder std(s) in [-1, 1] units for the bits/dim table")
    dalle.add_argument("--record-best", action="store_true",
                       help="write the best setting into the checkpoint's JSON as extra.default_sampling")
    _common(dalle, run_dalle)

    clip = kinds.add_parser("clip", help="clip: zero-shot reading per attribute and retrieval on fresh renders")
    clip.add_argument("--checkpoint", help="the clip (default: the shipped clip-shapes)")
    clip.add_argument("--n", type=checks.IntRange(1, 20_000), default=2000, help="fresh images")
    clip.add_argument("--data-seed", type=checks.seed, default=2027, help="the renderer's seed (training drew 0)")
    _common(clip, run_clip, judged=False)

    vqgan = kinds.add_parser("vqgan", help="vqgan vs the VQ-VAEs: MSE, sharpness, attributes kept")
    vqgan.add_argument("--checkpoint", help="the vqgan (default: the shipped vqgan-shapes)")
    vqgan.add_argument("--compare", nargs="*", metavar="CHECKPOINT",
                       help="VQ-VAEs to compare (default: the shipped shapes VQ-VAEs, vqvae-k32-shapes first: "
                       "codebook/compare.py)")
    vqgan.add_argument("--n", type=checks.IntRange(1, 1000), default=1000, help="held-out validation images")
    _common(vqgan, run_vqgan)


def _common(parser: argparse.ArgumentParser, run, judged: bool = True) -> None:
    if judged:
        parser.add_argument("--classifier", help="the attribute classifier that judges (default: the shipped one)")
    parser.add_argument("--seed", type=checks.seed, default=0)
    parser.add_argument("--out-dir", help="also write eval.md, a JSON and a picture here (eval.md always goes "
                        "beside the weights)")
    parser.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="auto")
    parser.set_defaults(run=run)


def _setup(args: argparse.Namespace, family: str):
    import torch

    from ..core.assets import open_model
    from ..core.device import pick_device

    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    return open_model(args.checkpoint, (family,), device), device


def _write(loaded, markdown: str, report: dict, args: argparse.Namespace, picture=None) -> list[Path]:
    """eval.md beside the weights; with --out-dir also eval.md, FAMILY_eval.json and FAMILY_eval.png there."""
    from ..core.images import atomic_path, save_png
    from ..core.provenance import model_header
    from ..core.text2img.report import nan_as_null

    written = []
    folders = [Path(loaded.path).parent]
    if args.out_dir:
        folders.append(Path(args.out_dir))
    for folder in dict.fromkeys(folders):
        with atomic_path(folder / "eval.md") as tmp:
            tmp.write_text(markdown)
        written.append(folder / "eval.md")
    if args.out_dir:
        out = Path(args.out_dir)
        with atomic_path(out / f"{loaded.family}_eval.json") as tmp:
            tmp.write_text(json.dumps(nan_as_null(model_header(loaded) | report), indent=2, allow_nan=False) + "\n")
        written.append(out / f"{loaded.family}_eval.json")
        if picture is not None:
            image, recipe = picture
            written.append(save_png(out / f"{loaded.family}_eval.png", image, recipe))
    return written


def _title(loaded) -> str:
    return f"{loaded.name} ({loaded.family}, {loaded.meta.steps} training steps)"


def run_clip(args: argparse.Namespace) -> int:
    from ..core.clip.report import clip_report, format_clip_report

    loaded, _ = _setup(args, "clip")
    report = clip_report(loaded.model, args.n, args.data_seed)
    markdown = format_clip_report(report, _title(loaded))
    written = _write(loaded, markdown, report.to_json(), args)
    print(markdown)
    print("wrote " + ", ".join(map(str, written)), file=sys.stderr)
    return 0


def run_vqgan(args: argparse.Namespace) -> int:
    import numpy as np

    from ..core.assets import open_model
    from ..core.codebook.compare import compare_reconstructions, compared_checkpoints
    from ..core.codebook.report import format_reconstruction_table, held_out_shapes, rows_to_json, verdict
    from ..core.images import labelled_grid
    from ..core.provenance import picture_recipe

    loaded, device = _setup(args, "vqgan")
    if args.compare is None:
        compare = [c.path for c in compared_checkpoints() if c.meta.family == "vqvae"]
    else:
        compare = [Path(p) for p in args.compare]
    others = [open_model(p, ("vqvae", "vqgan"), device) for p in compare]
    judge = open_model(args.classifier, ("classifier",), device)
    images, labels = held_out_shapes(args.n, args.seed)
    table = compare_reconstructions({m.name: m.model for m in [loaded, *others]}, images, judge.model, labels)
    rows = table.rows
    pictures = [images[:12]] + [table.reconstructions[r.name][:12] for r in rows]
    lines = verdict(rows)
    markdown = "\n".join([
        f"# {_title(loaded)}: reconstructions against the VQ-VAEs", "",
        f"{args.n} held-out validation images of `--data shapes` (the training runs' own split, seed {args.seed}; "
        "no model here trained on them). Each model encodes to its token grid and decodes; reconstructions rounded "
        "to 8 bits. MSE in [-1, 1] units; sharpness = mean gradient magnitude of the reconstructions over the "
        "originals' (1 = as sharp as the data); kept = the attribute classifier reads the reconstruction as the "
        "original's labels.", "",
        format_reconstruction_table(rows), "", *[f"- {line}" for line in lines], ""])
    picture = labelled_grid(np.stack(pictures), [str(i) for i in range(12)], ["original"] + [r.name for r in rows],
                            scale=3)
    recipe = picture_recipe(loaded, "vqgan-vs-vqvae", compared=[str(o.path) for o in others], n=args.n)
    written = _write(loaded, markdown, {"n": args.n, "seed": args.seed, "classifier": str(judge.path),
                                        "rows": rows_to_json(rows), "verdict": lines}, args, (picture, recipe))
    print(markdown)
    print("wrote " + ", ".join(map(str, written)), file=sys.stderr)
    return 0


def run_dalle(args: argparse.Namespace) -> int:
    from ..core.assets import open_model
    from ..core.text2img.evaluation import default_prompts
    from ..core.tokens.report import (
        DalleEvaluation, best_row, evaluate_setting, full_prompts_only, record_default_sampling, settings_grid,
    )
    from ..core.tokens.sampling import TokenSettings

    grid = settings_grid(args.temperatures, [int(k) for k in args.top_ks], args.top_ps, args.guidances)
    checks.check_seed_span(args.seed, max(args.full_prompts * args.n * args.rerank, args.unconditional))
    loaded, device = _setup(args, "dalle")
    judge = open_model(args.classifier, ("classifier",), device)
    clip = open_model(args.clip, ("clip",), device) if args.rerank > 1 else None
    vae = open_model(args.vae, ("vae",), device) if args.likelihood else None
    prompts = full_prompts_only(default_prompts(args.full_prompts)[:args.full_prompts])
    evaluation = DalleEvaluation(prompts)
    started = time.perf_counter()
    print(f"{_title(loaded)}: {len(prompts)} full prompts x {args.n} samples at {len(grid)} settings", file=sys.stderr)
    best_images = None
    for settings in grid:
        row, images = evaluate_setting(loaded.model, judge.model, prompts, settings, args.n, args.seed)
        evaluation.grid.append(row)
        if best_row(evaluation.grid) is row:
            best_images = images
        print(f"  {_setting_line(row)} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    evaluation.best = best_row(evaluation.grid)
    best_settings = TokenSettings(**evaluation.best.settings)
    if clip is not None:
        evaluation.reranked, _ = evaluate_setting(loaded.model, judge.model, prompts, best_settings, args.n,
                                                  args.seed, args.rerank, clip.model)
        print(f"  rerank {args.rerank}: {_setting_line(evaluation.reranked)}", file=sys.stderr)
    if args.unconditional:
        from ..core.tokens.report import unconditional_report

        evaluation.unconditional = unconditional_report(loaded.model, judge.model, args.unconditional, args.seed)
    if vae is not None:
        from ..core.codebook.report import held_out_shapes
        from ..core.tokens.report import likelihood_rows

        images, _ = held_out_shapes(args.likelihood, 0)
        evaluation.likelihood = likelihood_rows(loaded.model, vae.model, images, (loaded.name, vae.name),
                                                tuple(args.sigmas))
    markdown = _dalle_markdown(loaded, evaluation, args, time.perf_counter() - started,
                               [f"judge: {judge.name}"] + ([f"reranking CLIP: {clip.name}"] if clip else []))
    report = _dalle_json(evaluation, args, judge, clip, vae)
    written = _write(loaded, markdown, report, args, _samples_picture(loaded, evaluation, best_images, args))
    print(markdown)
    if args.record_best:
        path = record_default_sampling(loaded.path, best_settings, loaded.meta)
        print(f"recorded default_sampling = {best_settings.to_recipe()} in {path}")
    print("wrote " + ", ".join(map(str, written)), file=sys.stderr)
    return 0


def _setting_line(row) -> str:
    from ..core.tokens.report import settings_text

    return (f"{settings_text(row.settings)}: all four right {row.all_correct:.1%}, clean {row.clean:.1%}, "
            f"drawn {row.drawn:.1%}")


def _dalle_markdown(loaded, evaluation, args: argparse.Namespace, seconds: float, helpers: list[str]) -> str:
    from ..core.tokens.report import format_grid, format_likelihood, format_unconditional

    parts = [f"# {_title(loaded)}",
             f"{len(evaluation.prompts)} full prompts (a fixed seeded subset of the 432 captions) x {args.n} samples "
             "per setting; image j of prompt p seeded the same at every setting. The project's attribute classifier "
             "reads each sample: all four attributes right, per attribute; clean single shapes and drawn as rendered "
             "(core/evaluation/judge.py).",
             format_grid(evaluation.grid + ([evaluation.reranked] if evaluation.reranked else [])),
             "\n".join(f"- {line}" for line in evaluation.verdicts())]
    if evaluation.unconditional is not None:
        parts.append(format_unconditional(evaluation.unconditional))
    if evaluation.likelihood:
        parts.append(format_likelihood(evaluation.likelihood, args.likelihood))
    parts.append(f"({'; '.join(helpers)}; seed {args.seed}; {seconds:.0f} s)")
    return "\n\n".join(parts) + "\n"


def _dalle_json(evaluation, args: argparse.Namespace, judge, clip, vae) -> dict:
    from dataclasses import asdict

    from ..core.tokens.report import rows_to_json

    return {"prompts": evaluation.prompts, "n": args.n, "seed": args.seed, "classifier": str(judge.path),
            "clip": str(clip.path) if clip else None, "vae": str(vae.path) if vae else None,
            "grid": rows_to_json(evaluation.grid), "best": asdict(evaluation.best),
            "reranked": asdict(evaluation.reranked) if evaluation.reranked else None,
            "unconditional": evaluation.unconditional.__dict__ if evaluation.unconditional else None,
            "likelihood": rows_to_json(evaluation.likelihood)}


def _samples_picture(loaded, evaluation, images, args: argparse.Namespace):
    """The best setting's samples: one row per prompt (the first 16), n across."""
    if images is None:
        return None
    from ..core.images import labelled_grid
    from ..core.provenance import picture_recipe

    rows = min(16, len(images))
    picture = labelled_grid(images[:rows], [str(j) for j in range(images.shape[1])], evaluation.prompts[:rows], scale=3)
    return picture, picture_recipe(loaded, "evaluation-samples", **evaluation.best.settings,
                                   rows=evaluation.prompts[:rows], n=args.n, seed=args.seed)
