"""Loading a diffusers pipeline folder into a `LoadedModel` the project's samplers drive.

Each part is read by its own library's class (`UNet2DModel`, `UNet2DConditionModel`,
`AutoencoderKL` from diffusers; `CLIPTextModel`, `CLIPTokenizer` from transformers), from
safetensors only and never from the network (`local_files_only`). The device is CUDA in
fp16 when a GPU is there (bf16 or fp32 when asked), the CPU in fp32 otherwise.

`meta.family` is the project family whose panel and command run it ("ddpm" for an
unconditional U-Net, "text2img" for the Stable Diffusion layout); `meta.extra["format"]`
is "diffusers", which `is_diffusers` checks. The recipe's checkpoint is the unet's weights
file (its SHA-256 names the model); `load_checkpoint` opens a folder or that file here.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch

from ..checkpoints import CheckpointMeta, LoadedModel
from .adapter import DiffusersDenoiser, LatentConfig, PixelConfig, StableDiffusionDenoiser
from .folder import DiffusersFolderError, FolderSummary, diffusers_meta, summarize, variant_of, weights_file
from .schedule import ScheduleConfigError, schedule_from_config

MISSING = ("opening a diffusers folder needs the diffusers and transformers packages: "
           "pip install -e \".[diffusers]\"")
DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
PRECISION_VARIABLE = "PLAYGROUND_PRECISION"
Progress = Callable[[str, float], None]


class DiffusersLoaded(LoadedModel):
    """A LoadedModel whose name is its pipeline folder's (`path` is the unet's weights file in it)."""

    @property
    def folder(self) -> Path:
        return Path(self.path).parent.parent

    @property
    def name(self) -> str:
        return self.folder.name


def is_diffusers(loaded: object) -> bool:
    meta = getattr(loaded, "meta", None)
    return isinstance(getattr(meta, "extra", None), dict) and meta.extra.get("format") == "diffusers"


def choose_dtype(device: torch.device, precision: str | None = None) -> torch.dtype:
    """fp16 on CUDA, fp32 elsewhere, unless `precision` ("fp16", "bf16", "fp32") or the environment's
    PLAYGROUND_PRECISION says otherwise."""
    precision = precision or os.environ.get(PRECISION_VARIABLE) or None
    if precision is not None:
        if precision not in DTYPES:
            raise DiffusersFolderError(f"precision ({PRECISION_VARIABLE}) must be one of {', '.join(DTYPES)}, "
                                       f"not {precision!r}")
        if device.type == "cpu" and precision == "fp16":
            raise DiffusersFolderError("fp16 runs on a GPU; on the CPU use fp32 or bf16")
        return DTYPES[precision]
    return torch.float16 if device.type == "cuda" else torch.float32


def _libraries():
    try:
        import diffusers
        import transformers
    except ImportError:
        raise DiffusersFolderError(MISSING) from None
    return diffusers, transformers


def load_diffusers(folder: str | Path, device: torch.device | str | None = None, precision: str | None = None,
                   progress: Progress | None = None) -> DiffusersLoaded:
    """The pipeline at `folder` ready for inference. DiffusersFolderError (one line) when it cannot be opened."""
    diffusers, transformers = _libraries()
    summary = summarize(folder)
    device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = choose_dtype(device, precision)
    try:
        schedule = schedule_from_config(summary.scheduler)
    except ScheduleConfigError as exc:
        raise DiffusersFolderError(f"{summary.folder / 'scheduler'}: {exc}") from None
    schedule = dataclasses.replace(schedule, noise_dtype=dtype)
    say = progress or (lambda what, fraction: None)

    parts = ("unet",) if summary.layout == "unconditional" else ("unet", "vae", "text_encoder", "tokenizer")

    def part(name: str, cls, **kwargs):
        say(f"loading {name}", parts.index(name) / len(parts))
        weights = weights_file(summary.folder, name)
        try:
            module = cls.from_pretrained(summary.folder, subfolder=name, use_safetensors=True, local_files_only=True,
                                         variant=variant_of(weights), **kwargs)
        except (OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
            raise DiffusersFolderError(f"{summary.folder / name}: cannot be loaded ({str(exc).splitlines()[0][:200]})") from None
        try:
            return module.to(device).eval().requires_grad_(False)
        except torch.OutOfMemoryError:
            raise DiffusersFolderError(f"{summary.folder}: its {name} does not fit in the {device.type} memory "
                                       f"({str(dtype)[6:]}); open it on the CPU (--device cpu) or free the GPU") from None

    if summary.layout == "unconditional":
        unet = part("unet", diffusers.UNet2DModel, dtype=dtype, low_cpu_mem_usage=_accelerate())
        _check_unconditional(unet, summary)
        config = PixelConfig("ddpm", unet.config.in_channels, summary.resolution, schedule.name,
                             schedule.prediction_type)
        model: DiffusersDenoiser = DiffusersDenoiser(unet, schedule, config)
    else:
        unet = part("unet", diffusers.UNet2DConditionModel, dtype=dtype, low_cpu_mem_usage=_accelerate())
        vae = part("vae", diffusers.AutoencoderKL, dtype=dtype, low_cpu_mem_usage=_accelerate())
        text_encoder = part("text_encoder", transformers.CLIPTextModel, dtype=dtype)
        say("loading tokenizer", parts.index("tokenizer") / len(parts))
        try:
            tokenizer = transformers.CLIPTokenizer.from_pretrained(summary.folder, subfolder="tokenizer",
                                                                   local_files_only=True)
        except (OSError, ValueError, TypeError) as exc:
            raise DiffusersFolderError(f"{summary.folder / 'tokenizer'}: cannot be loaded ({str(exc)[:200]})") from None
        config = _latent_config(summary, unet, vae, text_encoder, tokenizer, schedule.name, schedule.prediction_type)
        model = StableDiffusionDenoiser(unet, schedule, config, vae, text_encoder, tokenizer)
    model.eval()
    say("loaded", 1.0)
    meta = CheckpointMeta(family=summary.family, config=asdict(config), data="diffusers",
                          extra=diffusers_meta(summary.folder).extra | {
                              "scheduler": schedule.scheduler_class, "schedule": schedule.describe(),
                              "dtype": str(dtype).replace("torch.", "")})
    return DiffusersLoaded(model=model, config=config, meta=meta, path=weights_file(summary.folder, "unet"))


def _accelerate() -> bool:
    """diffusers loads without a full-size random init only with accelerate installed (it warns otherwise)."""
    import importlib.util

    return importlib.util.find_spec("accelerate") is not None


def _check_unconditional(unet, summary: FolderSummary) -> None:
    cfg = unet.config
    if getattr(cfg, "num_class_embeds", None) or getattr(cfg, "class_embed_type", None):
        raise DiffusersFolderError(f"{summary.folder / 'unet'}: a class-conditional UNet2DModel is not supported")
    if cfg.out_channels != cfg.in_channels:
        raise DiffusersFolderError(f"{summary.folder / 'unet'}: out_channels {cfg.out_channels} != in_channels "
                                   f"{cfg.in_channels} (a learned variance is not supported)")


def _latent_config(summary: FolderSummary, unet, vae, text_encoder, tokenizer, schedule: str,
                   prediction: str) -> LatentConfig:
    cfg = unet.config
    if getattr(cfg, "class_embed_type", None) or getattr(cfg, "addition_embed_type", None):
        raise DiffusersFolderError(f"{summary.folder / 'unet'}: extra conditioning ({cfg.class_embed_type or cfg.addition_embed_type}) "
                                   "is not supported (SD 1.x/2.x layout only)")
    if cfg.in_channels != vae.config.latent_channels or cfg.out_channels != cfg.in_channels:
        raise DiffusersFolderError(f"{summary.folder / 'unet'}: {cfg.in_channels} input channels for a "
                                   f"{vae.config.latent_channels}-channel latent is not supported (inpainting?)")
    dim = text_encoder.config.hidden_size
    cross = cfg.cross_attention_dim
    if (cross[0] if isinstance(cross, (list, tuple)) else cross) != dim:
        raise DiffusersFolderError(f"{summary.folder}: the unet attends to {cross}-wide text, the text encoder gives {dim}")
    size = cfg.sample_size[0] if isinstance(cfg.sample_size, (list, tuple)) else cfg.sample_size
    attending = [i for i, kind in enumerate(cfg.down_block_types) if "Attn" in kind]
    grid = int(size) // 2 ** (attending[0] if attending else 0)
    return LatentConfig("text2img", cfg.in_channels, int(size), summary.resolution, int(tokenizer.model_max_length),
                        int(dim), schedule, prediction, grid)


def open_folder(folder: str | Path, device: torch.device | str | None = None,
                families: tuple[str, ...] | None = None, progress: Progress | None = None) -> DiffusersLoaded:
    """`load_checkpoint` for a pipeline folder: refused (before loading) when its family is not in `families`."""
    summary = summarize(folder)
    if families is not None and summary.family not in families:
        raise DiffusersFolderError(f"{summary.folder} holds a diffusers {summary.family} model "
                                   f"({summary.pipeline}), not a {' or '.join(families)}")
    return load_diffusers(folder, device, progress=progress)
