"""`playground serve`: run the shipped and the user's checkpoints for an app on another machine.

The app's File > Connect to server… lists what it serves; the Diffusion tab's steps (and every
family's `playground sample`) then run here, streamed back step by step. Built on LitServe
(`pip install 'playground[serve]'`). It listens on 127.0.0.1 only unless told otherwise: to use a
GPU machine from a laptop, keep it there and tunnel (`ssh -L 8000:127.0.0.1:8000 gpu-box`), or
pass `--host 0.0.0.0 --allow-remote` on a network you trust (there is no password).
"""

from __future__ import annotations

import argparse
import re
from typing import Callable, Iterator

from ..core import checks
from ..core.checkpoints import LoadedModel
from ..core.device import pick_device
from ..core.serving.catalog import find_checkpoints
from ..core.serving.jobs import job
from ..core.serving.server import check_host, require_litserve, serve
from ..core.serving.wire import message

# options of `playground sample FAMILY` a client may not pass: they name files on the server or its resources
UNSAFE_OPTIONS = re.compile(r"checkpoint|trajectory|init_noise|tokens|out|dir|file|path|device|threads|backend|fps|size")
TEXT_OPTIONS = {"prompt", "negative_prompt"}  # free text that names no file


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("serve", help="serve checkpoints to the app on another machine (LitServe)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=checks.IntRange(1024, 65535, "port"), default=8000)
    parser.add_argument("--allow-remote", action="store_true",
                        help="needed to listen on every address (--host 0.0.0.0): any machine that reaches this one "
                             "can then run the models")
    parser.add_argument("--checkpoints", nargs="+", default=[], metavar="DIR",
                        help="also serve the checkpoints under these folders (the shipped ones are always served)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    host = check_host(args.host, args.allow_remote)
    require_litserve()
    device = pick_device(args.device)
    entries = find_checkpoints(args.checkpoints)
    if not entries:
        raise ValueError("no checkpoints to serve (none shipped, none under --checkpoints)")
    print(f"playground serve: {len(entries)} models on {device} at http://{host}:{args.port} "
          f"({', '.join(e.id for e in entries)})", flush=True)
    serve(entries, host, args.port, str(device), args.log_level, job_modules=("playground.cli.serve",))
    return 0


@job("sample")
def sample_job(loaded: LoadedModel, args: dict, arrays: dict, cancelled: Callable[[], bool]) -> Iterator[dict]:
    """Any family's `playground sample` on the server: args = {"options": ["--n", "4", ...]} (its options,
    less those naming files); the result is the images (N, H, W, 3) uint8 and their recipes."""
    from .sample import SAMPLERS, add_parser as add_sample_parser

    family = loaded.family
    if family not in SAMPLERS:
        raise ValueError(f"a {family} model has no sampler")
    options = [str(o) for o in args.get("options", [])]
    parser = argparse.ArgumentParser(prog="sample", add_help=False, exit_on_error=False)
    add_sample_parser(parser.add_subparsers(dest="command"))
    try:
        parsed = parser.parse_args(["sample", family, *options, "--out", "-"])
    except (argparse.ArgumentError, SystemExit) as exc:
        raise ValueError(f"bad options for sample {family}: {exc}") from None
    defaults = parser.parse_args(["sample", family, "--out", "-"])
    own = argparse.ArgumentParser(add_help=False)
    SAMPLERS[family][0](own)  # the family's options: which of them take free text (a path, maybe)
    free_text = {a.dest for a in own._actions if a.choices is None and a.type is None and a.nargs != 0
                 and not isinstance(a.default, bool)} - TEXT_OPTIONS
    for name, value in vars(parsed).items():
        if name != "out" and value != getattr(defaults, name) and (UNSAFE_OPTIONS.search(name) or name in free_text):
            raise ValueError(f"--{name.replace('_', '-')} cannot be given to a server")
    images, recipes = SAMPLERS[family][1](loaded, parsed)
    yield message("result", meta={"recipes": recipes}, arrays={"images": images})
