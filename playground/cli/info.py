"""`playground info`: shipped models and the device the app would use."""

from __future__ import annotations

import argparse

import torch

from ..core.assets import assets_dir, list_shipped, shipped_for
from ..core.device import describe_device, pick_device


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("info", help="list shipped models and the device")
    parser.add_argument("--device", default="auto")
    parser.add_argument("folder", nargs="?", metavar="DIFFUSERS_FOLDER",
                        help="describe this diffusers pipeline folder (family, size, prediction type, resolution)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.folder:
        from ..core.diffusers_io.folder import DiffusersFolderError, describe_lines, is_diffusers_folder

        if not is_diffusers_folder(args.folder):
            raise DiffusersFolderError(f"{args.folder}: not a diffusers pipeline folder (no model_index.json)")
        print("\n".join(describe_lines(args.folder)))
        return 0
    device = pick_device(args.device)
    print(f"playground: torch {torch.__version__}, device {describe_device(device)}")
    print(f"shipped checkpoints in {assets_dir()} (\"default\": the one its family opens with):")
    for item in list_shipped():
        m = item.meta
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in m.metrics.items())
        default = "default " if shipped_for(m.family) == item else ""
        print(f"  {item.name:<20} {m.family:<8} {default:<8}data {m.data:<8} {m.steps:>6} steps  {metrics}")
    return 0
