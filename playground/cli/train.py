"""`playground train FAMILY --data shapes|digits|PATH --steps N --out DIR`.

Each family registers how to build its task from the arguments and its own defaults;
the shared `Trainer` does the rest. Re-running the same command with the same --out
resumes where the last run stopped.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

from ..core.data import load_dataset
from ..core.device import pick_device, seed_everything
from ..core.training.loop import TrainConfig, Trainer, TrainingTask


@dataclass(frozen=True)
class TrainRecipe:
    """How a family is trained from the command line."""

    add_arguments: Callable[[argparse.ArgumentParser], None]
    make_task: Callable[[argparse.Namespace], TrainingTask]
    defaults: dict[str, Any] = field(default_factory=dict)  # TrainConfig overrides
    sizes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # model size name -> its arguments (GUI)


def _vae_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--beta", type=float, default=1.0, help="KL weight (VAE only)")
    parser.add_argument("--channels", default="16,32,64", help="channels per resolution level")


def _vae_task(variational: bool) -> Callable[[argparse.Namespace], TrainingTask]:
    def make(args: argparse.Namespace) -> TrainingTask:
        from ..core.models.vae import VAEConfig
        from ..core.training.vae_task import VAETask

        config = VAEConfig(
            latent_dim=args.latent_dim, beta=args.beta, variational=variational,
            channels=tuple(int(c) for c in args.channels.split(",")),
        )
        return VAETask(config)

    return make


def _ddpm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schedule", choices=("linear", "cosine"), default="cosine")
    parser.add_argument("--base-channels", type=int, default=32)
    parser.add_argument("--channel-mults", default="1,2,2")


def _ddpm_task(args: argparse.Namespace) -> TrainingTask:
    from ..core.models.diffusion_model import DDPMConfig
    from ..core.training.ddpm_task import DDPMTask

    return DDPMTask(DDPMConfig(
        schedule=args.schedule, base_channels=args.base_channels,
        channel_mults=tuple(int(c) for c in args.channel_mults.split(",")),
    ))


def _vqvae_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--codebook-size", type=int, default=128, help="number of codes K")
    parser.add_argument("--code-dim", type=int, default=32, help="dimension D of each code")
    parser.add_argument("--channels", default="32,64", help="channels per level; 2 levels give an 8x8 grid")
    parser.add_argument("--commitment-cost", type=float, default=0.25, help="beta of the commitment loss")
    parser.add_argument("--codebook-decay", type=float, default=0.99, help="EMA decay of the codebook")


def _vqvae_task(args: argparse.Namespace) -> TrainingTask:
    from ..core.models.vqvae import VQVAEConfig
    from ..core.training.vqvae_task import VQVAETask

    return VQVAETask(VQVAEConfig(
        codebook_size=args.codebook_size, code_dim=args.code_dim,
        channels=tuple(int(c) for c in args.channels.split(",")),
        commitment_cost=args.commitment_cost, codebook_decay=args.codebook_decay,
    ))


def _classifier_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channels", default="16,32,64", help="channels per resolution level")


def _classifier_task(args: argparse.Namespace) -> TrainingTask:
    from ..core.models.attribute_classifier import AttributeClassifierConfig
    from ..core.training.classifier_task import ClassifierTask

    if args.data != "shapes":
        raise ValueError("the attribute classifier reads shapes attributes: use --data shapes")
    return ClassifierTask(AttributeClassifierConfig(channels=tuple(int(c) for c in args.channels.split(","))))


def _text2img_arguments(parser: argparse.ArgumentParser) -> None:
    _ddpm_arguments(parser)
    parser.add_argument("--coord-channels", choices=("on", "off"), default="off",
                        help="feed pixel coordinates to the U-Net, so prompts can place a shape")
    parser.add_argument("--layout-channels", type=int, default=0,
                        help="channels of the coarse map the prompt paints at the U-Net's input (0: none)")
    parser.add_argument("--layout-size", type=int, default=8,
                        help="that map's side in cells (8: 4-pixel cells, 16: fine enough to draw a shape's outline)")
    parser.add_argument("--max-noise-weight", type=float, default=1.0,
                        help="weight noisy steps by min(1/alpha-bar, this): where the prompt matters (1: plain eps loss)")
    parser.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                        help="start from an unconditional ddpm checkpoint with the same U-Net (e.g. assets/ddpm-shapes), "
                             "or from a text2img one with a coarser layout map")


def _text2img_task(args: argparse.Namespace) -> TrainingTask:
    from ..core.models.text2img import Text2ImgConfig
    from ..core.training.text2img_task import Text2ImgTask

    if args.data != "shapes":
        raise ValueError("text-to-image trains on captioned data: use --data shapes")
    task = Text2ImgTask(Text2ImgConfig(
        schedule=args.schedule, base_channels=args.base_channels,
        channel_mults=tuple(int(c) for c in args.channel_mults.split(",")),
        coord_channels=args.coord_channels == "on", layout_channels=args.layout_channels,
        layout_size=args.layout_size,
    ), seed=args.seed, max_noise_weight=args.max_noise_weight)
    if args.init_from:  # a resumed run then loads its own weights over these
        from ..core.training.warm_start import warm_start

        start = warm_start(task.model, args.init_from)
        print(f"warm start from {start.source}: {start.copied} tensors copied, {start.widened} widened, "
              f"{start.new} new", file=sys.stderr)
    return task


def _noisy_classifier_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channels", default="32,64,64", help="channels per resolution level")
    parser.add_argument("--schedule", choices=("linear", "cosine"), default="cosine",
                        help="the noise schedule of the diffusion models it will guide")


def _noisy_classifier_task(args: argparse.Namespace) -> TrainingTask:
    from ..core.models.noisy_classifier import NoisyClassifierConfig
    from ..core.training.noisy_classifier_task import NoisyClassifierTask

    if args.data != "shapes":
        raise ValueError("the noisy classifier reads shapes attributes: use --data shapes")
    return NoisyClassifierTask(NoisyClassifierConfig(
        channels=tuple(int(c) for c in args.channels.split(",")), schedule=args.schedule,
    ))


def _gan_arguments(parser: argparse.ArgumentParser) -> None:
    from ..core.training.gan_task import DEFAULT_LOSS, DEFAULT_R1_GAMMA, GAN_LOSSES

    parser.add_argument("--latent-dim", type=int, default=32)
    parser.add_argument("--channels", default="16,32,64,128",
                        help="feature widths at 32, 16, 8 and 4 pixels (both networks)")
    parser.add_argument("--d-full-res-convs", type=int, default=2,
                        help="discriminator 3x3 convs at full resolution, the stem included")
    parser.add_argument("--loss", choices=tuple(GAN_LOSSES), default=DEFAULT_LOSS,
                        help="ns: the non-saturating logistic loss; or hinge")
    parser.add_argument("--r1-gamma", type=float, default=DEFAULT_R1_GAMMA,
                        help="R1 penalty weight on real images' D gradient (0: off)")


def _gan_task(args: argparse.Namespace) -> TrainingTask:
    from ..core.models.gan import GANConfig
    from ..core.training.gan_task import GANTask

    return GANTask(GANConfig(
        latent_dim=args.latent_dim, channels=tuple(int(c) for c in args.channels.split(",")),
        discriminator_full_res_convs=args.d_full_res_convs,
    ), loss=args.loss, r1_gamma=args.r1_gamma)


RECIPES: dict[str, TrainRecipe] = {
    "vae": TrainRecipe(_vae_arguments, _vae_task(True), {"batch_size": 128, "lr": 2e-3, "precision": "bf16"}),
    "ae": TrainRecipe(_vae_arguments, _vae_task(False), {"batch_size": 128, "lr": 2e-3, "precision": "bf16"}),
    "text2img": TrainRecipe(_text2img_arguments, _text2img_task, {"batch_size": 64, "lr": 5e-4, "precision": "bf16", "ema_decay": 0.999}),
    "classifier": TrainRecipe(_classifier_arguments, _classifier_task, {"batch_size": 128, "lr": 2e-3, "precision": "bf16"}),
    "noisy-classifier": TrainRecipe(_noisy_classifier_arguments, _noisy_classifier_task,
                                    {"batch_size": 128, "lr": 2e-3, "precision": "bf16", "ema_decay": 0.999}),
    "ddpm": TrainRecipe(_ddpm_arguments, _ddpm_task, {"batch_size": 64, "lr": 5e-4, "precision": "bf16", "ema_decay": 0.999}),
    "vqvae": TrainRecipe(_vqvae_arguments, _vqvae_task, {"batch_size": 128, "lr": 2e-3, "precision": "bf16"}),
    # --lr is the generator's; the discriminator learns 2x faster (gan_task.py). No clipping: SN bounds D.
    "gan": TrainRecipe(
        _gan_arguments, _gan_task,
        {"batch_size": 32, "lr": 2e-4, "precision": "bf16", "ema_decay": 0.999, "grad_clip": None},
        sizes={"small": ("--channels", "8,16,32,64"), "medium": ("--channels", "16,32,64,128"),
               "large": ("--channels", "32,64,128,256")},
    ),
}


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("train", help="train a model headlessly")
    families = parser.add_subparsers(dest="family", metavar="FAMILY", required=True)
    for name, recipe in RECIPES.items():
        sub = families.add_parser(name, help=f"train a {name}")
        sub.add_argument("--data", default="shapes", help="shapes, digits or a folder of images")
        sub.add_argument("--data-size", type=int, default=None, help="number of shapes to generate (default 20000)")
        sub.add_argument("--steps", type=int, required=True)
        sub.add_argument("--out", required=True, help="output folder (resumes if it holds a run)")
        sub.add_argument("--batch-size", type=int, default=recipe.defaults.get("batch_size", 128))
        sub.add_argument("--lr", type=float, default=recipe.defaults.get("lr", 2e-3))
        sub.add_argument("--ema", type=float, default=recipe.defaults.get("ema_decay"), help="EMA decay, e.g. 0.999")
        sub.add_argument("--precision", choices=("fp32", "bf16"), default=recipe.defaults.get("precision", "fp32"))
        sub.add_argument("--checkpoint-every", type=int, default=500)
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--device", default="auto")
        sub.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        sub.add_argument("--fresh", action="store_true", help="ignore an earlier run in --out")
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
        sub.add_argument("--live", action="store_true",
                         help="report to a watching program: JSON lines on stdout, pause/resume/stop lines on "
                              "stdin (how the app's Train panel runs training)")
        sub.add_argument("--live-every", type=int, default=10, help="with --live: report every N steps")
        sub.add_argument("--preview-every", type=int, default=100, help="with --live: a preview every N steps")
        recipe.add_arguments(sub)
        sub.set_defaults(run=run)


def parse_train_args(argv: list[str]) -> argparse.Namespace:
    """Parse `FAMILY --flag ...` exactly as `playground train` does.

    The GUI's Train panel builds its runs through this, so a run started there and the
    command written into its model.json are the same training.
    """
    parser = argparse.ArgumentParser(prog="playground")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["train", *argv])


def build_trainer(args: argparse.Namespace) -> Trainer:
    """Data, task and Trainer for parsed arguments; resumes from --out unless --fresh."""
    device = pick_device(args.device)
    seed_everything(args.seed)
    data = load_dataset(args.data, n=args.data_size, seed=args.seed)
    task = RECIPES[args.family].make_task(args)
    config = TrainConfig(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, ema_decay=args.ema,
        precision=args.precision, checkpoint_every=args.checkpoint_every, seed=args.seed,
        **{k: v for k, v in RECIPES[args.family].defaults.items()
           if k not in ("batch_size", "lr", "ema_decay", "precision")},
    )
    trainer = Trainer(task, data, config, args.out, device=device, command=_reconstruct(args))
    if not args.fresh:
        trainer.try_resume()
    return trainer


def run(args: argparse.Namespace) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.live:
        from .train_live import serve

        return serve(args)
    trainer = build_trainer(args)
    if trainer.step:
        how = "its optimizer state" if trainer.resumed_from == "state" else "its weights (fresh optimizer, new warm-up)"
        print(f"resuming {args.out} from step {trainer.step}, from {how}", file=sys.stderr)
    n_params = sum(p.numel() for p in trainer.task.model.parameters())
    print(f"training {args.family} ({n_params / 1e6:.2f}M parameters) on {trainer.data_name} "
          f"({len(trainer.train_images) + len(trainer.validation.x)} images) on {trainer.device}", file=sys.stderr)
    path = trainer.run(progress=not args.quiet)
    print(f"saved {path}")
    return 0


def _reconstruct(args: argparse.Namespace) -> str:
    skip = {"command", "family", "run", "fresh", "quiet", "threads", "live", "live_every", "preview_every"}
    parts = ["playground", "train", args.family]
    for key, value in vars(args).items():
        if key in skip or value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        parts += [flag] if value is True else [flag, shlex.quote(str(value))]
    return " ".join(parts)
