"""`playground reproduce` redraws an attention strip from its PNG's recipe."""

from __future__ import annotations

import numpy as np
from PIL import Image

from playground.cli import main


def test_an_attention_png_reproduces_to_the_pixel(tiny_latent_checkpoints, tmp_path):
    out, again = tmp_path / "maps.png", tmp_path / "again.png"
    code = main(["attention", "ldm", "--checkpoint", str(tiny_latent_checkpoints["ldm"]), "--prompt", "a red circle",
                 "--steps", "4", "--step", "2", "--out", str(out)])
    assert code == 0
    assert main(["reproduce", str(out), "--out", str(again)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(again)))
