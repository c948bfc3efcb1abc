"""Token grid JSON files: round trip, and a clear TokenGridError (a ValueError naming the file) for bad ones."""

from __future__ import annotations

import json

import numpy as np
import pytest

from playground.core.codebook.token_grid import FORMAT, TokenGrid, TokenGridError, load_token_grid, save_token_grid


def write(path, **changes):
    data = {"format": FORMAT, "version": 1, "model": "tiny", "grid_size": [2, 3], "codebook_size": 8,
            "indices": [[0, 1, 2], [5, 6, 7]]}
    data.update(changes)
    path.write_text(json.dumps(data))
    return path


def test_round_trip(tmp_path):
    grid = TokenGrid(indices=np.arange(64).reshape(8, 8) % 16, model="vqvae-shapes", codebook_size=16)
    path = save_token_grid(tmp_path / "grid.json", grid)
    loaded = load_token_grid(path, grid_size=8, codebook_size=16)
    assert np.array_equal(loaded.indices, grid.indices) and loaded.indices.dtype == np.int64
    assert loaded.model == "vqvae-shapes" and loaded.grid_size == (8, 8) and loaded.codebook_size == 16
    assert len(path.read_text().splitlines()) == 8 + 9  # one row of indices per line: readable by eye
    assert json.loads(path.read_text())["grid_size"] == [8, 8]


def test_error_is_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError) as info:
        load_token_grid(path)
    assert isinstance(info.value, TokenGridError)
    assert str(path) in str(info.value) and "not valid JSON" in str(info.value)


@pytest.mark.parametrize(
    ("changes", "kwargs", "message"),
    [
        ({}, {"grid_size": 8}, "wrong size: the grid is 2x3, the model needs 8x8"),
        ({"indices": [[0, 1, 2], [5, 6, 8]]}, {}, r"index out of range: 8 at row 1, column 2 \(valid codes are 0..7 for the file's"),
        ({"codebook_size": None}, {"codebook_size": 6}, r"index out of range: 6 at row 1, column 1 \(valid codes are 0..5 for the model's"),
        ({"indices": [[0, -1, 2], [5, 6, 7]], "codebook_size": None}, {}, "index out of range: -1 at row 0, column 1"),
        ({"grid_size": [3, 2]}, {}, "grid_size says 3x2 but indices are 2x3"),
        ({"indices": [[0, 1, 2], [5, 6]], "grid_size": None}, {}, "rectangular"),
        ({"indices": [[0, 1.5, 2], [5, 6, 7]]}, {}, r"integers, got 1.5 at row 0, column 1"),
        ({"indices": [[0, True, 2], [5, 6, 7]]}, {}, "integers, got True"),
        ({"indices": []}, {}, "non-empty list of rows"),
        ({"format": "something-else"}, {}, "not a token grid file"),
        ({"version": 9}, {}, "version 9 is not supported"),
    ],
)
def test_bad_files_get_clear_errors(tmp_path, changes, kwargs, message):
    path = write(tmp_path / "grid.json", **changes)
    with pytest.raises(TokenGridError, match=message) as info:
        load_token_grid(path, **kwargs)
    assert str(info.value).startswith(f"{path}: ")


def test_missing_file(tmp_path):
    with pytest.raises(TokenGridError, match="no such file"):
        load_token_grid(tmp_path / "absent.json")


def test_a_png_with_tokens_in_its_recipe_loads_as_a_grid(tmp_path):
    from playground.core.images import save_png

    tokens = (np.arange(64).reshape(8, 8) * 3) % 16
    path = save_png(tmp_path / "edited.png", np.zeros((32, 32, 3), np.uint8),
                    {"model": "vqvae-shapes", "codebook_size": 16, "tokens": tokens.tolist()})
    grid = load_token_grid(path, grid_size=8, codebook_size=16)
    assert np.array_equal(grid.indices, tokens) and grid.model == "vqvae-shapes" and grid.codebook_size == 16
    with pytest.raises(TokenGridError, match="valid codes are 0..7 for the model's"):
        load_token_grid(path, codebook_size=8)
    plain = save_png(tmp_path / "plain.png", np.zeros((4, 4, 3), np.uint8), {"seed": 1})
    with pytest.raises(TokenGridError, match="carries no token grid"):
        load_token_grid(plain)
    broken = tmp_path / "broken.png"
    broken.write_bytes(path.read_bytes()[:40])
    with pytest.raises(TokenGridError, match="broken.png: "):
        load_token_grid(broken)
