"""Recognising a diffusers pipeline folder and reading what it is without loading it.

A pipeline folder has `model_index.json` beside one subfolder per part (`unet`,
`scheduler`, and for Stable Diffusion `vae`, `text_encoder`, `tokenizer`). Two layouts
open: the DDPMPipeline/DDIMPipeline one (`UNet2DModel`) and the StableDiffusionPipeline one
(`UNet2DConditionModel` + `AutoencoderKL` + `CLIPTextModel` + `CLIPTokenizer`). Weights are
read from safetensors only: a part with nothing but pickle `.bin` weights is refused,
because unpickling a file can run any code in it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from safetensors import safe_open

from ..checkpoints import CheckpointError, CheckpointMeta

INDEX_NAME = "model_index.json"
Layout = Literal["unconditional", "text2img"]
WEIGHT_PARTS = {"unconditional": ("unet",), "text2img": ("unet", "vae", "text_encoder")}
FAMILIES: dict[str, str] = {"unconditional": "ddpm", "text2img": "text2img"}  # the panel/command each opens in
MAX_JSON_BYTES = 1 << 20


class DiffusersFolderError(CheckpointError):
    """A diffusers folder the playground cannot open; str() names the folder or file and why."""


def is_diffusers_folder(path: str | Path) -> bool:
    """Is `path` a folder with a model_index.json (a diffusers pipeline)?"""
    path = Path(path)
    return path.is_dir() and (path / INDEX_NAME).is_file()


def diffusers_folder_of(path: str | Path) -> Path | None:
    """The pipeline folder `path` names: the folder itself, or its unet weights file (what a recipe records)."""
    path = Path(path)
    if is_diffusers_folder(path):
        return path
    if path.name == INDEX_NAME and is_diffusers_folder(path.parent):  # its model_index.json (a file dialog's pick)
        return path.parent
    if path.suffix == ".safetensors" and path.parent.name == "unet" and is_diffusers_folder(path.parent.parent):
        return path.parent.parent
    return None


def diffusers_paths(folder: Path) -> tuple[Path, Path]:
    """(weights, metadata) as `resolve_paths` gives them: the unet's safetensors and the model_index.json."""
    return weights_file(folder, "unet").resolve(), folder / INDEX_NAME


def diffusers_meta(folder: Path) -> CheckpointMeta:
    """What `read_meta` says of a pipeline folder (for the model picker: no model built)."""
    summary = summarize(folder)
    return CheckpointMeta(family=summary.family, config={}, data="diffusers", extra={
        "format": "diffusers", "folder": str(Path(folder).resolve()), "pipeline": summary.pipeline,
        "parameters": summary.parameters, "prediction_type": summary.prediction_type,
        "resolution": summary.resolution})


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DiffusersFolderError(f"{path}: not found (a diffusers pipeline folder needs it)")
    if path.stat().st_size > MAX_JSON_BYTES:
        raise DiffusersFolderError(f"{path}: far too large for a config file")
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DiffusersFolderError(f"{path}: not valid JSON ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise DiffusersFolderError(f"{path}: not a JSON object")
    return raw


def _class_of(index: dict[str, Any], part: str) -> str | None:
    entry = index.get(part)
    if isinstance(entry, list) and len(entry) == 2 and entry[1] is not None:
        return str(entry[1])
    return None


def layout_of(folder: Path, index: dict[str, Any]) -> Layout:
    """Which of the two layouts the index describes; DiffusersFolderError naming what does not fit."""
    unet = _class_of(index, "unet")
    if unet == "UNet2DModel":
        return "unconditional"
    if unet == "UNet2DConditionModel":
        wanted = {"vae": ("AutoencoderKL",), "text_encoder": ("CLIPTextModel",),
                  "tokenizer": ("CLIPTokenizer", "CLIPTokenizerFast")}
        for part, classes in wanted.items():
            if _class_of(index, part) not in classes:
                raise DiffusersFolderError(f"{folder}: its {part} is {_class_of(index, part)!r}; the Stable Diffusion "
                                           f"layout opens with {' or '.join(classes)}")
        return "text2img"
    pipeline = index.get("_class_name", "?")
    raise DiffusersFolderError(f"{folder}: a {pipeline} with a {unet or 'missing'} unet is not supported (the "
                               f"playground opens DDPMPipeline/DDIMPipeline and StableDiffusionPipeline folders)")


def weights_file(folder: Path, part: str) -> Path:
    """The safetensors weights of one part (the fp16 variant where that is the only one); refuses pickle."""
    where = folder / part
    if not where.is_dir():
        raise DiffusersFolderError(f"{folder}: the {part} folder is missing")
    tensors = sorted(where.glob("*.safetensors"))
    if not tensors:
        pickles = sorted(p.name for p in where.glob("*.bin")) + sorted(p.name for p in where.glob("*.ckpt"))
        if pickles:
            raise DiffusersFolderError(
                f"{where}: only pickle weights ({pickles[0]}); the playground reads safetensors only, because "
                f"loading a pickle can run any code in it (convert it once with diffusers' "
                f"save_pretrained(..., safe_serialization=True) where you trust the file)")
        raise DiffusersFolderError(f"{where}: no weights (no .safetensors file)")
    plain = [p for p in tensors if p.name.count(".") == 1]
    return (plain or tensors)[0]


def variant_of(weights: Path) -> str | None:
    """diffusers' variant name of a weights file: 'fp16' for diffusion_pytorch_model.fp16.safetensors."""
    parts = weights.name.split(".")
    return parts[1] if len(parts) == 3 else None


def parameter_count(weights: Path) -> int:
    """Parameters in one safetensors file, read from its header."""
    total = 0
    with safe_open(str(weights), framework="pt") as f:
        for key in f.keys():
            count = 1
            for size in f.get_slice(key).get_shape():
                count *= size
            total += count
    return total


@dataclass(frozen=True)
class FolderSummary:
    """What a pipeline folder holds, read from its JSON files and weight headers (no model built)."""

    folder: Path
    layout: Layout
    pipeline: str
    scheduler: dict[str, Any]
    unet: dict[str, Any]
    parameters: int
    resolution: int
    latent_factor: int  # pixels per latent cell (1 for a pixel model)

    @property
    def family(self) -> str:
        return FAMILIES[self.layout]

    @property
    def prediction_type(self) -> str:
        return str(self.scheduler.get("prediction_type", "epsilon"))

    def describe(self) -> str:
        kind = "Stable Diffusion layout (text to image)" if self.layout == "text2img" else "unconditional U-Net"
        return (f"{self.folder.name}: diffusers {self.pipeline}, {kind}, {self.parameters / 1e6:.1f}M parameters, "
                f"{self.prediction_type} prediction, {self.resolution}x{self.resolution} pixels")


def summarize(folder: str | Path) -> FolderSummary:
    """Read a pipeline folder's index, configs and weight headers; DiffusersFolderError saying what is wrong."""
    folder = Path(folder)
    index = read_json(folder / INDEX_NAME)
    layout = layout_of(folder, index)
    scheduler = read_json(folder / "scheduler" / "scheduler_config.json")
    unet = read_json(folder / "unet" / "config.json")
    factor = 1
    if layout == "text2img":
        vae = read_json(folder / "vae" / "config.json")
        factor = 2 ** (len(vae.get("block_out_channels", [0])) - 1)
    parameters = sum(parameter_count(weights_file(folder, part)) for part in WEIGHT_PARTS[layout])
    size = unet.get("sample_size", 0)
    size = size[0] if isinstance(size, list) else size
    return FolderSummary(folder, layout, str(index.get("_class_name", "?")), scheduler, unet, parameters,
                         int(size) * factor, factor)


def picker_text(meta: CheckpointMeta) -> str:
    """A pipeline folder as the model picker lists it: what it is (family, size, prediction type, resolution)."""
    extra = meta.extra
    return (f"{Path(extra['folder']).name}  (diffusers {meta.family}, {extra['parameters'] / 1e6:.1f}M parameters, "
            f"{extra['prediction_type']}, {extra['resolution']}px)")


def describe_lines(folder: str | Path) -> list[str]:
    """What `playground info FOLDER` and the model picker say about a pipeline folder (no model built)."""
    from .schedule import ScheduleConfigError, schedule_from_config

    summary = summarize(folder)
    kind = {"unconditional": "unconditional U-Net (the Diffusion tab, `sample ddpm`)",
            "text2img": "Stable Diffusion layout (the Text-to-image tab, `sample text2img`)"}[summary.layout]
    try:
        schedule = schedule_from_config(summary.scheduler).describe()
    except ScheduleConfigError as exc:
        schedule = f"cannot be sampled: {exc}"
    latent = f", latent {summary.resolution // summary.latent_factor}x{summary.resolution // summary.latent_factor}" \
        if summary.latent_factor > 1 else ""
    return [f"{summary.folder.name}: diffusers {summary.pipeline}",
            f"  family      {summary.family}: {kind}",
            f"  size        {summary.parameters / 1e6:.1f}M parameters ({', '.join(WEIGHT_PARTS[summary.layout])})",
            f"  prediction  {summary.prediction_type}",
            f"  resolution  {summary.resolution}x{summary.resolution} pixels{latent}",
            f"  scheduler   {summary.scheduler.get('_class_name', '?')}: {schedule}"]
