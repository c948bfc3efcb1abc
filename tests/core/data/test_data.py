"""Data sets: bundled digits, a folder of the user's own images, and the tensor conversions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from playground.core.data import ImageFileError, load_dataset, load_image_file, to_tensor, to_uint8

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 40), (30, 40, 220)


def banded(size: tuple[int, int], colours: list[tuple[int, int, int]], axis: str) -> Image.Image:
    """An image split into equal bands of colour, left to right ("x") or top to bottom ("y")."""
    w, h = size
    pixels = np.zeros((h, w, 3), np.uint8)
    n = len(colours)
    for i, colour in enumerate(colours):
        if axis == "x":
            pixels[:, i * w // n:(i + 1) * w // n] = colour
        else:
            pixels[i * h // n:(i + 1) * h // n, :] = colour
    return Image.fromarray(pixels)


def close_to(pixels: np.ndarray, colour: tuple[int, int, int], tol: int) -> bool:
    return bool((np.abs(pixels.astype(int) - np.array(colour)) <= tol).all())


# --- digits ---------------------------------------------------------------------------


def test_digits_load_as_32px_rgb_with_labels_0_to_9():
    data = load_dataset("digits")
    assert data.images.shape == (1797, 32, 32, 3)
    assert data.images.dtype == np.uint8
    assert data.labels.shape == (1797, 1)
    assert set(data.labels[:, 0]) == set(range(10))
    assert data.label_names == ("digit",)
    # grey, white strokes on a black background
    assert (data.images[..., 0] == data.images[..., 1]).all() and (data.images[..., 1] == data.images[..., 2]).all()
    assert data.images[:, 0, 0].max() < 30
    assert data.images.reshape(1797, -1).max(axis=1).min() > 200
    assert data.describe(0) == f"digit {data.labels[0, 0]}"


def test_digits_n_keeps_the_first_items():
    assert len(load_dataset("digits", n=25)) == 25


# --- a folder of the user's images -----------------------------------------------------


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "my images"
    folder.mkdir()
    # wide PNG: red | green | blue; the centre crop keeps only green
    banded((120, 40), [RED, GREEN, BLUE], "x").save(folder / "a_wide.png")
    # tall JPEG: red top half, blue bottom half; the centre crop keeps both halves
    banded((40, 80), [RED, BLUE], "y").save(folder / "b_tall.jpg", quality=95)
    # tall WebP (lossless): red / green / blue from the top; the centre crop keeps green
    banded((30, 90), [RED, GREEN, BLUE], "y").save(folder / "c_tall.webp", lossless=True)
    # a big square photo-sized image, and a file that is not an image
    banded((500, 500), [GREEN], "x").save(folder / "d_square.PNG")
    (folder / "notes.txt").write_text("not an image, and not an image suffix")
    return folder


def test_folder_images_are_resized_and_centre_cropped(image_folder: Path):
    data = load_dataset(str(image_folder))
    assert data.images.shape == (4, 32, 32, 3)
    assert data.images.dtype == np.uint8
    assert data.captions == ["a_wide.png", "b_tall.jpg", "c_tall.webp", "d_square.PNG"]
    wide, tall_jpg, tall_webp, square = data.images
    # wide: the middle third only (columns near the crop edge may blend a little)
    assert close_to(wide[:, 2:30], GREEN, 2)
    # tall JPEG: the middle half; top half red, bottom half blue
    assert close_to(tall_jpg[2:14], RED, 30)
    assert close_to(tall_jpg[18:30], BLUE, 30)
    # tall WebP: the middle third only
    assert close_to(tall_webp[2:30], GREEN, 2)
    assert close_to(square, GREEN, 0)


def test_folder_n_keeps_the_first_files(image_folder: Path):
    data = load_dataset(str(image_folder), n=2)
    assert data.captions == ["a_wide.png", "b_tall.jpg"]
    assert data.images.shape == (2, 32, 32, 3)


def test_single_image_file_at_another_size(image_folder: Path):
    image = load_image_file(image_folder / "a_wide.png", size=16)
    assert image.shape == (16, 16, 3)
    assert close_to(image[:, 2:14], GREEN, 2)


def test_unreadable_image_names_the_file(image_folder: Path):
    bad = image_folder / "e_broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a PNG")
    with pytest.raises(ImageFileError) as info:
        load_dataset(str(image_folder))
    assert str(bad) in str(info.value)
    assert "is not an image file" in str(info.value) or "damaged" in str(info.value)


def test_missing_image_file_names_the_file(tmp_path: Path):
    with pytest.raises(ImageFileError, match="no such file") as info:
        load_image_file(tmp_path / "gone.png")
    assert str(tmp_path / "gone.png") in str(info.value)


def test_empty_folder_names_the_folder(tmp_path: Path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(ImageFileError, match="no .png") as info:
        load_dataset(str(tmp_path))
    assert str(tmp_path) in str(info.value)


def test_missing_folder_names_the_path(tmp_path: Path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ImageFileError) as info:
        load_dataset(str(missing))
    assert str(missing) in str(info.value)


def test_image_file_errors_are_value_errors():
    """The CLI turns ValueError into a one-line message: folder errors must be ValueErrors."""
    assert issubclass(ImageFileError, ValueError)


# --- shapes through load_dataset ---------------------------------------------------------


def test_shapes_dataset_has_captions_and_named_labels(small_shapes):
    assert small_shapes.images.shape == (300, 32, 32, 3)
    assert small_shapes.label_names == ("shape", "color", "size", "position")
    assert small_shapes.describe(3) == small_shapes.captions[3]
    sub = small_shapes.subset([5, 1])
    assert sub.captions == [small_shapes.captions[5], small_shapes.captions[1]]
    np.testing.assert_array_equal(sub.images[1], small_shapes.images[1])


def test_shapes_refuses_another_image_size():
    with pytest.raises(ValueError, match="32px"):
        load_dataset("shapes", n=4, size=64)


# --- conversions ---------------------------------------------------------------------------


def test_to_tensor_and_to_uint8_round_trip_exactly():
    images = np.arange(2 * 8 * 16 * 3, dtype=np.int64).reshape(2, 8, 16, 3) % 256
    images = images.astype(np.uint8)
    assert set(np.unique(images)) == set(range(256))
    x = to_tensor(images)
    assert x.shape == (2, 3, 8, 16)
    assert x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    back = to_uint8(x)
    assert back.dtype == np.uint8 and back.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(back, images)


def test_to_uint8_clamps_out_of_range_model_output():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 2.5]).reshape(1, 1, 1, 5).expand(1, 3, 1, 5)
    assert to_uint8(x)[0, 0, :, 0].tolist() == [0, 0, 128, 255, 255]
