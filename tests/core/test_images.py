"""PNG writing: atomic, and the file a user gets is an ordinary file."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from playground.core.images import save_png


def test_a_written_png_has_the_permissions_of_an_ordinary_new_file(tmp_path):
    """The temporary file behind an atomic write is owner-only; the PNG must not be."""
    old = os.umask(0o022)
    try:
        path = save_png(tmp_path / "x.png", np.zeros((4, 4, 3), np.uint8))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_failing_write_leaves_the_old_file_and_no_temporary_one(tmp_path):
    path = save_png(tmp_path / "x.png", np.zeros((4, 4, 3), np.uint8))
    before = path.read_bytes()
    with pytest.raises(ValueError):
        save_png(path, np.zeros((4, 4, 3), np.uint8), {"w": float("nan")})  # JSON has no NaN
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]
