"""Command line: `playground` opens the GUI; `train`, `sample`, `reproduce`, `info`… work headlessly."""

from __future__ import annotations

import argparse
import sys

from . import attention, codebook, encode, evaluate, flow_compare, info, latent, reproduce, sample, train
from . import img2img, invert, likelihood
from . import clip
from . import nearest
from . import compare
from . import lesson
from . import serve


class _Parser(argparse.ArgumentParser):
    """A bad option is one line naming it and its allowed range (`core.checks`), not the whole usage."""

    def error(self, message: str):  # noqa: D401 (argparse's name)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="playground",
        description="Explore generative models by hand. With no command, opens the app.",
    )
    parser.add_argument("--device", default="auto", help="for the app: auto (default), cpu, cuda or mps")
    parser.add_argument("--checkpoint", help="for the app: open this checkpoint at start")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    gui = commands.add_parser("gui", help="open the app (the default)")
    gui.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")
    gui.add_argument("--checkpoint", help="open this checkpoint at start")
    train.add_parser(commands)
    sample.add_parser(commands)
    info.add_parser(commands)
    evaluate.add_parser(commands)
    encode.add_parser(commands)
    codebook.add_parser(commands)
    latent.add_parser(commands)
    reproduce.add_parser(commands)
    flow_compare.add_parser(commands)
    attention.add_parser(commands)
    img2img.add_parser(commands)
    invert.add_parser(commands)
    clip.add_parser(commands)
    likelihood.add_parser(commands)
    nearest.add_parser(commands)
    compare.add_parser(commands)
    lesson.add_parser(commands)
    serve.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in (None, "gui"):
        from ..gui.app import run_app  # Qt is imported only when the window is wanted

        return run_app(device=getattr(args, "device", "auto"), checkpoint=getattr(args, "checkpoint", None))
    try:
        return int(args.run(args) or 0)
    except (ValueError, OSError, KeyError) as exc:  # bad input: one clear line, no traceback
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"playground {args.command}: error: {message}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"playground {args.command}: error: not enough memory for this run; ask for fewer samples "
              "or a smaller --scale", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl+C: every output is written atomically, so nothing half-written is left
        print(f"playground {args.command}: interrupted; no output was changed by the unfinished step", file=sys.stderr)
        return 130
