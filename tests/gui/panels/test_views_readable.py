"""Views a room can read at 1280x720: the codebook map fills its view with every code drawn as a tile
(none hidden under another), the interpolation and direction strips draw frames of at least 96 px."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import spearmanr
from PySide6.QtCore import Qt

from playground.core.codebook.layout import grid_layout, grid_shape
from playground.core.latent.sampling import prior_latents
from playground.gui.panels.codebook import VQVAEPanel, codebook_column
from playground.gui.panels.codebook.codebook_map import CodebookMap
from playground.gui.panels.latent import DIRECTIONS_TAB, LatentPanel
from playground.gui.widgets.frame_strip import FrameStrip, strip_layout

PROJECTOR = (1280, 720)


def _disjoint(rects) -> bool:
    return not any(a.intersects(b) for a, b in itertools.combinations(rects, 2))


def test_grid_layout_gives_every_point_its_own_cell_and_keeps_left_left_and_up_up():
    rng = np.random.default_rng(0)
    clump = np.concatenate([rng.normal(0, 0.01, (120, 2)), rng.normal(0, 5, (8, 2))])  # one clump, a few far out
    rows, columns = grid_shape(len(clump), 16 / 9)
    assert rows * columns >= 128 and columns > rows
    cells = grid_layout(clump, rows, columns)
    assert len({tuple(c) for c in cells}) == 128  # one code per cell: nothing drawn over anything
    assert spearmanr(clump[:, 0], cells[:, 1])[0] > 0.8  # x -> column (in rank order)
    assert spearmanr(clump[:, 1], -cells[:, 0])[0] > 0.8  # y up -> row up


def test_a_clumped_codebook_of_128_codes_spreads_over_the_whole_map(qtbot):
    """The shipped model's PCA has 128 codes in one clump; the map gives each a tile of its own."""
    view = CodebookMap()
    qtbot.addWidget(view)
    view.resize(447, 243)  # the map's size in the VQ-VAE tab at 1280x720
    view.show()
    rng = np.random.default_rng(1)
    coords = np.concatenate([rng.normal(0, 0.02, (124, 2)), [[3, 0], [-2, 1], [0, 4], [1, -3]]])
    tiles = rng.integers(0, 255, (128, 32, 32, 3), dtype=np.uint8)
    view.set_codebook(coords, tiles, None, (0.6, 0.3))
    qtbot.wait(50)
    rects = [view.widget_rect(code) for code in range(128)]
    assert _disjoint(rects)
    assert min(r.width() for r in rects) >= 20
    drawn = view.widget_rect()
    assert drawn.width() >= 0.9 * view.width() or drawn.height() >= 0.9 * view.height()
    centres = np.array([[r.center().x(), r.center().y()] for r in rects])
    assert np.ptp(centres[:, 0]) > 0.8 * view.width() and np.ptp(centres[:, 1]) > 0.7 * view.height()


@pytest.fixture(autouse=True)
def _small_data_set(monkeypatch):
    monkeypatch.setitem(codebook_column.DATA_SETS, "shapes", 120)


def test_the_codebook_map_at_1280x720_is_large_names_the_hovered_code_and_a_click_selects(main_window, qtbot):
    main_window.resize(*PROJECTOR)
    panel = next(p for p in main_window.panels if isinstance(p, VQVAEPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.codebook is not None and panel.usage is not None, timeout=30000)
    book = panel.codebook_column
    book.views.setCurrentIndex(1)
    view = book.map
    qtbot.waitUntil(lambda: view.isVisible() and len(view.cells) == panel.loaded.model.codebook_size, timeout=5000)
    qtbot.wait(50)
    drawn = view.widget_rect()
    assert drawn.width() >= 300 and drawn.height() >= 150, drawn  # it was 230x90 with every code in one clump
    k = panel.loaded.model.codebook_size
    rects = [view.widget_rect(code) for code in range(k)]
    assert _disjoint(rects) and min(r.width() for r in rects) >= 32
    target = (int(panel.selected) + 1) % k
    point = view.widget_pos(target).toPoint()
    qtbot.mouseMove(view.viewport(), point)
    qtbot.waitUntil(lambda: view.hovered == target, timeout=2000)
    assert view.hover_label.isVisible() and view.hover_label.textItem.toPlainText().startswith(f"code {target}")
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    qtbot.waitUntil(lambda: panel.selected == target, timeout=2000)
    assert panel.grid_column.brush_label.text() == f"Brush: code {target}"
    small = view.widget_rect(0).width()
    book.set_large(True)  # the usage section hidden: the map takes the column
    qtbot.waitUntil(lambda: view.widget_rect(0).width() > small, timeout=2000)
    book.views.setCurrentIndex(0)  # the atlas: 8 tiles a row, as large as the column allows
    qtbot.waitUntil(lambda: book.atlas.iconSize().width() >= 44, timeout=2000)
    at_720 = book.atlas.iconSize().width()
    main_window.resize(1920, 1080)
    qtbot.waitUntil(lambda: book.atlas.iconSize().width() > at_720, timeout=3000)
    assert len(book.atlas.codes) == k and book.atlas.currentItem() is not None  # redrawn, selection kept


def test_frames_wrap_into_rows_and_grow_with_the_window():
    assert strip_layout(9, 430, 330)[:2] == (3, 3)  # a narrow column: 3 rows of 3, not 9 slivers
    assert strip_layout(9, 430, 330)[2] >= 96
    assert strip_layout(9, 1200, 200)[:2] == (1, 9)
    assert strip_layout(7, 640, 480)[2] > strip_layout(7, 430, 330)[2]


def test_interpolation_and_direction_strips_draw_frames_of_96_px_at_1280x720(main_window, qtbot, tiny_assets):
    main_window.resize(*PROJECTOR)
    panel = next(p for p in main_window.panels if isinstance(p, LatentPanel))
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.current_image is not None, timeout=10000)
    main_window.show_panel(panel)
    view = panel.interpolate_view
    panel.tabs.setCurrentWidget(view)
    a, b = prior_latents(panel.loaded.model.latent_dim, 2, 3).numpy()
    panel.set_latent(a)
    view.set_endpoint("A")
    panel.set_latent(b)
    view.set_endpoint("B")
    strip: FrameStrip = view.strip_canvas
    qtbot.waitUntil(lambda: len(strip.frames) == 9, timeout=5000)
    assert strip.frame_px >= 96, strip.frame_px
    assert strip.labels[0] == "t = 0" and strip.labels[-1] == "t = 1"
    assert _disjoint([r for r in strip.frame_rects()]) and all(strip.rect().contains(r) for r in strip.frame_rects())
    at_720 = strip.frame_px
    main_window.resize(1920, 1080)
    qtbot.waitUntil(lambda: strip.frame_px > at_720, timeout=3000)  # larger when the window is

    main_window.resize(*PROJECTOR)
    main_window.load_into(panel, tiny_assets / "gan-tiny" / "model.safetensors")
    qtbot.waitUntil(lambda: panel.loaded.family == "gan" and panel.directions is not None, timeout=20000)
    panel.tabs.setCurrentIndex(DIRECTIONS_TAB)
    directions = panel.directions_view.strip
    qtbot.waitUntil(lambda: len(directions.frames) == 7, timeout=5000)
    assert directions.frame_px >= 96, directions.frame_px
    assert directions.labels[0] == "−3" and directions.labels[-1] == "+3"
