"""Every kind of bad input the command line takes: one line naming what is wrong (the option
and its allowed range, or the file and why), exit code 2, no traceback, and an output file
that existed before the failed run is left byte for byte as it was.

The CLI runs in-process (`playground.cli.main`) on tiny models made here, found through
PLAYGROUND_ASSETS as the shipped ones would be.
"""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import WEIGHTS_NAME, save_checkpoint
from playground.core.codebook.token_grid import TokenGrid, save_token_grid
from playground.core.images import save_png
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel
from playground.core.models.noisy_classifier import NoisyAttributeClassifier, NoisyClassifierConfig
from playground.core.models.text2img import Text2ImgConfig, TextToImageModel
from playground.core.models.vqvae import VQVAE, VQVAEConfig

EXISTING = b"an output file from an earlier run\n"


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> Path:
    """Tiny stand-ins for the shipped models, under the names the CLI's defaults look for."""
    root = tmp_path_factory.mktemp("assets")
    shutil.copytree(tiny_checkpoint, root / "vae-shapes")
    torch.manual_seed(0)
    ddpm_config = DDPMConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), num_train_timesteps=100)
    save_checkpoint(root / "ddpm-shapes" / WEIGHTS_NAME, DiffusionModel(ddpm_config), ddpm_config, "ddpm", data="shapes")
    t2i_config = Text2ImgConfig(base_channels=8, channel_mults=(1, 2), attention_resolutions=(), text_dim=16,
                                text_layers=1, cond_dim=16, num_train_timesteps=100)
    save_checkpoint(root / "text2img-shapes" / WEIGHTS_NAME, TextToImageModel(t2i_config), t2i_config, "text2img")
    nc_config = NoisyClassifierConfig(channels=(8, 8, 8), num_train_timesteps=100)
    save_checkpoint(root / "noisy-classifier-shapes" / WEIGHTS_NAME, NoisyAttributeClassifier(nc_config), nc_config,
                    "noisy-classifier")
    vq_config = VQVAEConfig(codebook_size=16, code_dim=8, channels=(8, 16))
    save_checkpoint(root / "vqvae-shapes" / WEIGHTS_NAME, VQVAE(vq_config), vq_config, "vqvae", data="shapes")
    return root


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Bad input files a user might give: text, empty folders, hand-edited grids and recipes."""
    root = tmp_path_factory.mktemp("inputs")
    (root / "notes.txt").write_text("not an image, not a checkpoint\n")
    (root / "empty").mkdir()
    (root / "bad_pngs").mkdir()
    (root / "bad_pngs" / "sample_0000.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")
    (root / "unknown_word.txt").write_text("a red circle\na gigantic dog\n")
    (root / "no_prompts.txt").write_text("\n\n")
    grid = np.zeros((8, 8), np.int64)
    save_token_grid(root / "grid.json", TokenGrid(indices=grid, model="vqvae-shapes", codebook_size=16))
    edited = json.loads((root / "grid.json").read_text())
    edited["indices"][3][4] = 999
    (root / "out_of_range.json").write_text(json.dumps(edited))
    save_png(root / "edited.png", np.zeros((32, 32, 3), np.uint8), {"model": "vqvae-shapes", "tokens": [[1] * 8] * 7 + [[1] * 7 + [16]]})
    return {"": root}


# argv (paths as {input} or {out}), then words the one line must contain
CASES = [
    # sample ddpm: steps, eta, n, seed, scale, threads, guidance numbers, prompts
    ("sample ddpm --sampler ddim --steps 0 --out {out}", ["--steps", ">= 1", "not 0"]),
    ("sample ddpm --sampler ddim --steps -5 --out {out}", ["--steps", "not -5"]),
    ("sample ddpm --sampler ddim --steps 101 --out {out}", ["--steps", "from 1 to 100", "101"]),
    ("sample ddpm --sampler ddim --steps twelve --out {out}", ["--steps", "whole number", "twelve"]),
    ("sample ddpm --sampler ddim --steps 2.5 --out {out}", ["--steps", "whole number"]),
    ("sample ddpm --eta 2 --out {out}", ["--eta", "from 0 to 1", "not 2"]),
    ("sample ddpm --eta nan --out {out}", ["--eta", "from 0 to 1", "nan"]),
    ("sample ddpm --eta -0.1 --out {out}", ["--eta", "from 0 to 1"]),
    ("sample ddpm --sampler ddpm --eta 0.3 --steps 2 --out {out}", ["--eta", "DDIM"]),
    ("sample ddpm --n 0 --out {out}", ["--n", "from 1 to 1024", "not 0"]),
    ("sample ddpm --n 100000000 --out {out}", ["--n", "from 1 to 1024"]),
    ("sample ddpm --seed -1 --out {out}", ["--seed", "from 0 to 2147483647", "not -1"]),
    ("sample ddpm --seed 99999999999999999999999 --out {out}", ["--seed", "from 0 to 2147483647"]),
    ("sample ddpm --seed 2147483647 --n 2 --steps 2 --out {out}", ["--seed", "2147483646"]),
    ("sample ddpm --scale 0 --out {out}", ["--scale", "from 1 to 16"]),
    ("sample ddpm --scale 1000 --out {out}", ["--scale", "from 1 to 16"]),
    ("sample ddpm --threads 0 --out {out}", ["--threads", "from 1"]),
    ("sample ddpm --classifier-guidance nan --prompt red --out {out}", ["--classifier-guidance", "from 0 to 100"]),
    ("sample ddpm --classifier-guidance -1 --prompt red --out {out}", ["--classifier-guidance", "from 0 to 100"]),
    ("sample ddpm --guidance-start 1.5 --out {out}", ["--guidance-start", "from 0 to 1"]),
    ("sample ddpm --prompt 'a red dog' --classifier-guidance 3 --steps 2 --out {out}", ["'dog'", "vocabulary"]),
    ("sample ddpm --prompt red --steps 2 --out {out}", ["--prompt", "--classifier-guidance"]),
    # sample text2img: guidance w finite and in range, prompts in the vocabulary
    ("sample text2img --guidance nan --out {out}", ["--guidance", "from 0 to 50", "nan"]),
    ("sample text2img --guidance inf --out {out}", ["--guidance", "from 0 to 50", "inf"]),
    ("sample text2img --guidance -1 --out {out}", ["--guidance", "from 0 to 50"]),
    ("sample text2img --guidance 1e9 --out {out}", ["--guidance", "from 0 to 50"]),
    ("sample text2img --guidance-start 0.8 --guidance-stop 0.2 --steps 2 --out {out}", ["guidance", "0.8", "0.2"]),
    ("sample text2img --steps 0 --out {out}", ["--steps", ">= 1"]),
    ("sample text2img --sampler ddpm --steps 1000 --out {out}", ["--steps", "from 1 to 100"]),
    ("sample text2img --n -3 --out {out}", ["--n", "from 1 to 1024", "-3"]),
    ("sample text2img --prompt 'a gigantic dog' --steps 2 --out {out}", ["'gigantic'", "vocabulary"]),
    ("sample text2img --negative-prompt sky --steps 2 --out {out}", ["'sky'"]),
    # sample vae / vqvae: counts, temperature, checkpoints that are not
    ("sample vae --n 0 --out {out}", ["--n", "from 1 to 1024", "not 0"]),
    ("sample vae --n -3 --out {out}", ["--n", "from 1 to 1024", "-3"]),
    ("sample vae --temperature nan --out {out}", ["--temperature", "from 0 to 10", "nan"]),
    ("sample vae --temperature -1 --out {out}", ["--temperature", "from 0 to 10"]),
    ("sample vae --temperature 1e30 --out {out}", ["--temperature", "from 0 to 10"]),
    ("sample vae --checkpoint {input}/missing --out {out}", ["missing", "no such"]),
    ("sample vae --checkpoint {input}/notes.txt --out {out}", ["notes.txt", "checkpoint"]),
    ("sample vae --checkpoint {input}/empty --out {out}", ["empty", "no checkpoint in this folder"]),
    ("sample vae --checkpoint {assets}/ddpm-shapes --out {out}", ["holds a ddpm model", "not a vae"]),
    ("sample vqvae --n 0 --out {out}", ["--n", "from 1 to 1024"]),
    ("sample vqvae --tokens {input}/missing.json --out {out}", ["missing.json", "no such file"]),
    ("sample vqvae --tokens {input}/notes.txt --out {out}", ["notes.txt", "not valid JSON"]),
    ("sample vqvae --tokens {input}/out_of_range.json --out {out}", ["out_of_range.json", "999", "row 3, column 4"]),
    ("sample vqvae --tokens {input}/edited.png --out {out}", ["edited.png", "16", "row 7, column 7", "0..15"]),
    # encode, interpolate, latent-map, codebook
    ("encode vqvae --image {input}/notes.txt --out {out}", ["notes.txt", "not an image"]),
    ("encode vqvae --image {input}/missing.png --out {out}", ["missing.png", "no such file"]),
    ("encode vqvae --index -1 --out {out}", ["--index", ">= 0", "-1"]),
    ("encode vqvae --index 3 --data {input}/empty --out {out}", ["empty", "no .png"]),
    ("encode vqvae --index 0 --data {input}/bad_pngs --out {out}", ["sample_0000.png"]),
    ("encode vqvae --index 0 --scale 0 --recon {out} --out {out}.json", ["--scale", "from 1 to 16"]),
    ("encode vae --image {input}/notes.txt --out {out}", ["notes.txt", "not an image"]),
    ("encode vae --image 3 --scale 99 --out {out}", ["--scale", "from 1 to 16"]),
    ("interpolate vae --a 1 --b 2 --frames 1 --out {out}", ["--frames", "from 2 to 256"]),
    ("interpolate vae --a 1 --b 2 --frames 100000 --out {out}", ["--frames", "from 2 to 256"]),
    ("interpolate vae --a {input}/notes.txt --b 2 --out {out}", ["notes.txt", "not an image"]),
    ("latent-map vae --n 1 --out {out}", ["--n", "from 2 to 20000"]),
    ("latent-map vae --n 10 --size 10 --out {out}", ["--size", "from 128 to 4096"]),
    ("codebook --data-size 0 --out {out}", ["--data-size", "from 1 to 20000"]),
    ("codebook --columns 0 --out {out}", ["--columns", "from 1 to 256"]),
    ("codebook --scale -1 --out {out}", ["--scale", "from 1 to 16"]),
    # eval
    ("eval samples --images {input}/empty --json {out}", ["empty", "no PNG files"]),
    ("eval samples --images {input}/missing --json {out}", ["missing", "no such folder"]),
    ("eval samples --images {input}/bad_pngs --json {out}", ["sample_0000.png"]),
    ("eval text2img --scales nan --out-dir {outdir}", ["--scales", "from 0 to 50", "nan"]),
    ("eval text2img --scales 1,x --out-dir {outdir}", ["--scales", "from 0 to 50", "x"]),
    ("eval text2img --scales , --out-dir {outdir}", ["--scales", "got nothing"]),
    ("eval text2img --n 0 --out-dir {outdir}", ["--n", "from 1 to 1024"]),
    ("eval text2img --steps 0 --out-dir {outdir}", ["--steps", ">= 1"]),
    ("eval text2img --steps 5000 --prompts {input}/no_prompts.txt --out-dir {outdir}", ["no_prompts.txt", "no prompts"]),
    ("eval text2img --steps 5000 --out-dir {outdir}", ["--steps", "from 1 to 100", "5000"]),
    ("eval text2img --prompts {input}/unknown_word.txt --out-dir {outdir}", ["'gigantic'", "vocabulary"]),
    ("eval text2img --prompts {input}/missing.txt --out-dir {outdir}", ["missing.txt"]),
    ("eval text2img --seed -5 --out-dir {outdir}", ["--seed", "from 0 to 2147483647"]),
    ("eval text2img --full-prompts 1000 --out-dir {outdir}", ["--full-prompts", "from 0 to 432"]),
    ("eval text2img --guidance-stop nan --out-dir {outdir}", ["--guidance-stop", "from 0 to 1"]),
    # train
    ("train vae --data {input}/empty --steps 1 --out {outdir}", ["empty", "no .png"]),
    ("train vae --data {input}/missing --steps 1 --out {outdir}", ["missing", "not 'shapes', 'digits'"]),
    ("train vae --data {input}/bad_pngs --steps 1 --out {outdir}", ["sample_0000.png"]),
    ("train vae --steps 0 --out {outdir}", ["--steps", ">= 1"]),
    ("train vae --steps 1 --lr nan --out {outdir}", ["--lr", "above 0", "nan"]),
    ("train vae --steps 1 --lr -0.1 --out {outdir}", ["--lr", "above 0"]),
    ("train vae --steps 1 --ema 1 --out {outdir}", ["--ema", "from 0 to 1", "excluded"]),
    ("train vae --steps 1 --batch-size 0 --out {outdir}", ["--batch-size", ">= 1"]),
    ("train vae --steps 1 --seed -1 --out {outdir}", ["--seed", "from 0 to 2147483647"]),
    ("train vae --steps 1 --data-size 0 --out {outdir}", ["--data-size", ">= 1"]),
    ("train vae --steps 1 --threads 0 --out {outdir}", ["--threads", "from 1"]),
    ("train vae --steps 1 --latent-dim 0 --out {outdir}", ["--latent-dim", "from 1 to 4096"]),
    ("train vae --steps 1 --beta nan --out {outdir}", ["--beta", "from 0 to 1000", "nan"]),
    ("train vae --steps 1 --channels 0,8 --out {outdir}", ["'0,8'", "at least 1"]),
    ("train gan --steps 1 --r1-gamma -1 --out {outdir}", ["--r1-gamma", "from 0 to 1000"]),
    ("train ddpm --steps 1 --base-channels -1 --out {outdir}", ["--base-channels", "from 1 to 1024"]),
    ("train vqvae --steps 1 --codebook-size 0 --out {outdir}", ["--codebook-size", "from 1 to 65536"]),
    ("train vqvae --steps 1 --codebook-decay 1 --out {outdir}", ["--codebook-decay", "1 excluded"]),
    ("train text2img --steps 1 --layout-size 0 --out {outdir}", ["--layout-size", "from 1 to 32"]),
]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """main() in-process; argparse's refusals end in SystemExit, like the installed command."""
    try:
        rc = main(argv)
    except SystemExit as exc:
        rc = exc.code
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def _existing_outputs(tmp_path: Path) -> dict[str, Path]:
    out, outdir = tmp_path / "existing.png", tmp_path / "existing_dir"
    out.write_bytes(EXISTING)
    outdir.mkdir()
    (outdir / "model.json").write_bytes(EXISTING)
    return {"out": out, "outdir": outdir}


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("command, words", CASES, ids=[c for c, _ in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_no_file(command, words, assets, inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(assets))
    outputs = _existing_outputs(tmp_path)
    before = _snapshot(tmp_path)
    argv = [part.format(input=inputs[""], assets=assets, **outputs) for part in shlex.split(command)]
    rc, out, err = run_cli([*argv, "--device", "cpu"] if argv[0] in ("sample", "encode") else argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, (rc, err)
    assert len(lines) == 1, f"not one line:\n{err}"
    assert "Traceback" not in err and "Traceback" not in out
    for word in words:
        assert word in lines[0], f"{word!r} missing from: {lines[0]}"
    assert _snapshot(tmp_path) == before, "a failed run changed or added a file"


def test_a_good_run_does_replace_the_output(assets, tmp_path, capsys, monkeypatch):
    """The counterpart: the same file is overwritten when the run succeeds."""
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(assets))
    out = _existing_outputs(tmp_path)["out"]
    rc, _, err = run_cli(["sample", "vae", "--n", "2", "--out", str(out), "--device", "cpu"], capsys)
    assert rc == 0, err
    assert out.read_bytes().startswith(b"\x89PNG")


def _fails_at_step(original, k: int, error: BaseException):
    """A scheduler step that fails on its k-th call, as a run killed half-way would."""
    calls = []

    def step(scheduler, *args, **kwargs):
        calls.append(1)
        if len(calls) % k == 0:
            raise error
        return original(scheduler, *args, **kwargs)

    return step


@pytest.mark.parametrize("error, code", [(ValueError("the disk went away"), 2), (KeyboardInterrupt(), 130)])
def test_a_run_that_fails_half_way_leaves_every_existing_output_as_it_was(assets, tmp_path, capsys, monkeypatch,
                                                                          error, code):
    from playground.core.diffusion import schedulers

    monkeypatch.setenv("PLAYGROUND_ASSETS", str(assets))
    monkeypatch.setattr(schedulers.DDIMScheduler, "step", _fails_at_step(schedulers.DDIMScheduler.step, 3, error))
    outputs = _existing_outputs(tmp_path)
    gif, sample = tmp_path / "existing.gif", outputs["outdir"] / "sample_0000.png"
    gif.write_bytes(EXISTING)
    sample.write_bytes(EXISTING)
    before = _snapshot(tmp_path)
    for target in (["--out", str(outputs["out"])], ["--out-dir", str(outputs["outdir"])]):
        rc, out, err = run_cli(["sample", "ddpm", "--sampler", "ddim", "--steps", "5", "--n", "2", *target,
                                "--trajectory", str(gif), "--device", "cpu"], capsys)
        assert rc == code and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert _snapshot(tmp_path) == before


def test_a_token_grid_save_that_fails_mid_write_keeps_the_old_grid(assets, tmp_path, capsys, monkeypatch):
    """A full disk half-way through writing: the new grid goes to a temporary file, never over the old one."""
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(assets))
    grid = tmp_path / "grid.json"
    grid.write_bytes(EXISTING)
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(tmp_path / "image.png")

    def half_then_full(self: Path, text: str, *args, **kwargs):
        with open(self, "w") as f:
            f.write(text[: len(text) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_full)
    rc, _, err = run_cli(["encode", "vqvae", "--image", str(tmp_path / "image.png"), "--out", str(grid),
                          "--device", "cpu"], capsys)
    assert rc == 2 and "No space left" in err and len(err.strip().splitlines()) == 1
    assert _snapshot(tmp_path) == {"grid.json": EXISTING, "image.png": (tmp_path / "image.png").read_bytes()}
