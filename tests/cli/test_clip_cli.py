"""`playground clip classify|score|retrieve|matrix` on the tiny untrained CLIP: outputs and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from playground.cli import main
from playground.core.checkpoints import load_checkpoint
from playground.core.clip.classify import read_attributes
from playground.core.clip.scores import clip_score
from playground.core.data import load_image_file, to_tensor
from playground.core.data.shapes import ATTRIBUTE_VALUES, ATTRIBUTES, generate
from playground.core.images import read_recipe


@pytest.fixture(scope="module")
def clip(tiny_token_checkpoints) -> str:
    return str(tiny_token_checkpoints["clip"])


@pytest.fixture
def folder(tmp_path):
    batch = generate(3, 11)
    for i, image in enumerate(batch.images):
        Image.fromarray(image).save(tmp_path / f"shape{i}.png")
    Image.fromarray(np.repeat(np.repeat(batch.images[0], 3, 0), 2, 1)).save(tmp_path / "wide.jpg")  # 96x64: resized
    (tmp_path / "notes.txt").write_text("not an image")  # not an image suffix: not read
    return tmp_path


def test_classify_prints_one_json_object_per_image(clip, folder, capsys):
    assert main(["clip", "classify", "--images", str(folder), "--checkpoint", clip]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["file"] for r in records] == ["shape0.png", "shape1.png", "shape2.png", "wide.jpg"]
    loaded = load_checkpoint(clip)
    expected = read_attributes(loaded.model, np.stack([load_image_file(folder / r["file"]) for r in records]))
    for record, reading in zip(records, expected):
        assert list(record) == ["file", *ATTRIBUTES]
        for attribute in ATTRIBUTES:
            probabilities = record[attribute]["probabilities"]
            assert list(probabilities) == list(ATTRIBUTE_VALUES[attribute])
            assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-3)
            assert record[attribute]["value"] == reading[attribute].value
    assert main(["clip", "classify", "--images", str(folder / "shape1.png"), "--checkpoint", clip]) == 0
    one = json.loads(capsys.readouterr().out)
    assert one == records[1]


def test_score_prints_the_cosine_similarity(clip, folder, capsys):
    assert main(["clip", "score", "--image", str(folder / "shape0.png"), "--prompt", "a red circle",
                 "--checkpoint", clip]) == 0
    printed = float(capsys.readouterr().out)
    loaded = load_checkpoint(clip)
    image = to_tensor(load_image_file(folder / "shape0.png")[None])
    assert printed == pytest.approx(clip_score(loaded.model, image, "a red circle").item(), abs=1e-4)
    assert -1.0 <= printed <= 1.0


def test_retrieve_and_matrix_write_pictures_with_recipes(clip, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["clip", "retrieve", "--prompt", "a red circle", "--k", "4", "--pool", "40", "--out", str(out),
                 "--checkpoint", clip]) == 0
    printed = capsys.readouterr().out.splitlines()
    ranks = [line.split("\t") for line in printed[:4]]
    scores = [float(r[1]) for r in ranks]
    assert [r[0] for r in ranks] == ["1", "2", "3", "4"] and scores == sorted(scores, reverse=True)
    recipe = read_recipe(out)
    assert recipe["picture"] == "clip-retrieval" and recipe["prompt"] == "red circle" and len(recipe["indices"]) == 4
    assert Image.open(out).size == (4 * (32 + 2) * 4 + 2 * 4, (32 + 4) * 4)
    matrix = tmp_path / "matrix.png"
    assert main(["clip", "matrix", "--n", "4", "--out", str(matrix), "--checkpoint", clip]) == 0
    recipe = read_recipe(matrix)
    assert recipe["picture"] == "clip-matrix" and len(recipe["captions"]) == 4
    assert np.asarray(recipe["similarity"]).shape == (4, 4)


def test_reproduce_redraws_a_retrieval_and_a_matrix_to_the_pixel(clip, tmp_path, capsys):
    for name, args in (("grid.png", ["retrieve", "--prompt", "blue", "--k", "3", "--pool", "30"]),
                       ("matrix.png", ["matrix", "--n", "3"])):
        out = tmp_path / name
        assert main(["clip", *args, "--out", str(out), "--checkpoint", clip]) == 0
        again = tmp_path / f"again-{name}"
        assert main(["reproduce", str(out), "--out", str(again)]) == 0
        assert "identical" in capsys.readouterr().out
        assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(again)))


@pytest.mark.parametrize("args, words", [
    (["score", "--image", "{folder}/shape0.png", "--prompt", "a purple banana"], "banana"),
    (["score", "--image", "{folder}/missing.png", "--prompt", "a red circle"], "no such file"),
    (["score", "--image", "{folder}/notes.txt", "--prompt", "red"], "not an image file"),
    (["classify", "--images", "{folder}/notes.txt"], "not an image file"),
    (["classify", "--images", "{folder}/empty"], "no .png"),
    (["retrieve", "--prompt", "a circle red", "--out", "{folder}/r.png"], "out of order"),
    (["retrieve", "--prompt", "red", "--k", "0"], "--k"),
    (["matrix", "--n", "1", "--out", "{folder}/m.png"], "--n"),
])
def test_bad_input_is_one_line_and_a_failing_exit(clip, folder, capsys, args, words):
    (folder / "empty").mkdir()
    argv = ["clip"] + [a.format(folder=folder) for a in args] + ["--checkpoint", clip]
    code = _run(argv)
    err = capsys.readouterr().err
    assert code != 0 and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (folder / "r.png").exists() and not (folder / "m.png").exists()


def test_a_checkpoint_of_another_family_is_refused(tiny_token_checkpoints, folder, capsys):
    code = _run(["clip", "score", "--image", str(folder / "shape0.png"), "--prompt", "red",
                 "--checkpoint", str(tiny_token_checkpoints["dalle"])])
    err = capsys.readouterr().err
    assert code != 0 and "clip" in err and len(err.strip().splitlines()) == 1


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse refuses a bad option by exiting
        return int(exc.code)
