"""`playground compare [--models NAME|PATH ...] --n N --seed S --out report.html --json scores.json`:
every shipped generative model (or the ones named) measured side by side, the seeds' claims checked.

Prints the table and the claims; progress goes to stderr. Results are cached per checkpoint
(weights SHA-256, n, seed) in the user's cache folder; `--no-cache` measures again.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..core import checks

MAX_COMPARE_SAMPLES = 5000
sample_total = checks.IntRange(1, MAX_COMPARE_SAMPLES)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("compare", help="measure every generative family side by side (HTML + JSON report)")
    parser.add_argument("--models", nargs="+", metavar="NAME|PATH",
                        help="shipped checkpoint names (e.g. vae-shapes) or checkpoint paths (default: every shipped "
                             "generative model trained on shapes)")
    parser.add_argument("--n", type=sample_total, default=500, help="samples per model (default 500)")
    parser.add_argument("--seed", type=checks.seed, default=0, help="sample i is drawn from seed + i")
    parser.add_argument("--out", help="write the self-contained HTML report here")
    parser.add_argument("--json", help="write the scores and verdicts as JSON here")
    parser.add_argument("--no-cache", action="store_true", help="measure again even when cached")
    parser.add_argument("--threads", type=checks.threads, default=None, help="torch CPU threads")
    parser.add_argument("--device", default="cpu", help="cpu (default; the ms column is this machine's), cuda or mps")
    parser.set_defaults(run=run)


def model_paths(names: list[str] | None) -> list[Path]:
    """The checkpoints to compare: each name a shipped checkpoint or a path; ValueError naming the choices."""
    from ..core.assets import list_shipped
    from ..core.checkpoints import read_meta
    from ..core.compare.families import ADAPTERS, compared_checkpoints

    if not names:
        compared = compared_checkpoints()
        if not compared:
            raise ValueError("no shipped generative checkpoints found; name some with --models PATH")
        return [c.path for c in compared]
    shipped = [c for c in list_shipped() if c.meta.family in ADAPTERS]
    by_name = {c.name: c.path for c in shipped}
    paths = []
    for name in names:
        if name in by_name:
            paths.append(by_name[name])
            continue
        if not Path(name).exists():
            raise ValueError(f"{name!r} is neither a shipped model nor a checkpoint path; available: "
                             f"{', '.join(sorted(by_name))}")
        meta = read_meta(name)
        if meta.family not in ADAPTERS:
            raise ValueError(f"{name}: a {meta.family} model has no sampler to compare; compared families: "
                             f"{', '.join(ADAPTERS)}")
        paths.append(Path(name))
    return paths


def run(args: argparse.Namespace) -> int:
    import torch

    from ..core.compare.claims import check_claims
    from ..core.compare.html import format_claims, format_table, write_report
    from ..core.compare.report import score_checkpoint
    from ..core.device import pick_device

    checks.check_seed_span(args.seed, args.n)
    for out in (args.out, args.json):
        if out and Path(out).is_dir():
            raise ValueError(f"{out}: is a folder; give a file name")
    paths = model_paths(args.models)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    started = time.perf_counter()
    scores = []
    for i, path in enumerate(paths, 1):
        label = path.parent.name if path.name.endswith(".safetensors") else path.name
        last = [-1]

        def progress(done, total, label=label, i=i, last=last):
            percent = 100 * done // max(total, 1)
            if percent // 10 != last[0]:
                last[0] = percent // 10
                print(f"[{i}/{len(paths)}] {label}: {percent}%", file=sys.stderr, flush=True)

        one = time.perf_counter()
        scores.append(score_checkpoint(path, n=args.n, seed=args.seed, progress=progress, cache=not args.no_cache,
                                       device=device))
        print(f"[{i}/{len(paths)}] {label}: done in {time.perf_counter() - one:.1f} s", file=sys.stderr, flush=True)
    verdicts = check_claims(scores)
    print(format_table(scores))
    print()
    print(format_claims(verdicts))
    write_report(scores, verdicts, args.out, args.json, command=_command(args))
    for out in (args.out, args.json):
        if out:
            print(f"wrote {out}")
    print(f"{len(scores)} models in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def _command(args: argparse.Namespace) -> str:
    """The command that re-creates this report (recorded in its JSON)."""
    parts = ["playground compare", f"--n {args.n}", f"--seed {args.seed}"]
    parts += [f"--models {' '.join(args.models)}"] if args.models else []
    parts += [f"--threads {args.threads}"] if args.threads else []
    parts += [f"--json {args.json}"] if args.json else []
    return " ".join(parts + [f"--out {args.out}"] if args.out else parts)
