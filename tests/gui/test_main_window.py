"""The window as a whole: it must fit the screens it is demoed on."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from playground.gui.theme import apply_dark_theme

PROJECTOR = (1280, 690)  # 1280x720 less a title bar


@pytest.fixture
def themed(qapp):
    """The app's own theme (its style sheet changes widget sizes); restored afterwards."""
    style, palette, sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    apply_dark_theme(qapp)
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)


def test_every_panel_fits_a_1280x720_projector_without_scrolling(themed, main_window, qtbot):
    main_window.resize(*PROJECTOR)
    for index, panel in enumerate(main_window.panels):
        main_window.tabs.setCurrentIndex(index)
        QApplication.processEvents()
        area = main_window.tabs.currentWidget()
        assert main_window.size().toTuple() == PROJECTOR
        assert not area.verticalScrollBar().isVisible(), f"{panel.title}: needs {panel.minimumSizeHint().height()} px"
        assert not area.horizontalScrollBar().isVisible(), f"{panel.title}: needs {panel.minimumSizeHint().width()} px"


def test_every_plot_fits_its_view_on_a_1280x720_projector(themed, main_window, qtbot):
    """A pyqtgraph layout wider than its view is cut off at the right, axes and all (long titles did it)."""
    import pyqtgraph as pg

    main_window.resize(*PROJECTOR)
    for index, panel in enumerate(main_window.panels):
        main_window.tabs.setCurrentIndex(index)
        QApplication.processEvents()
        for view in panel.findChildren(pg.GraphicsLayoutWidget):
            if view.isVisible():
                assert view.ci.width() <= view.viewport().width() + 1, f"{panel.title}: {type(view).__name__}"


def test_a_small_window_scrolls_instead_of_cutting_panels_off(main_window):
    main_window.resize(900, 500)
    QApplication.processEvents()
    assert main_window.size().toTuple() == (900, 500)  # the window may shrink below its panels' size
    main_window.tabs.setCurrentIndex(main_window.panels.index(main_window.current_panel))
    area = main_window.tabs.currentWidget()
    assert area.verticalScrollBar().maximum() > 0 or area.horizontalScrollBar().maximum() > 0


def test_saving_from_a_dialog_reports_the_file_or_the_error(main_window, qtbot, tmp_path, monkeypatch):
    """Every panel's Save/Export goes through one helper: a written file is named, a failure explained."""
    from PySide6.QtWidgets import QFileDialog

    panel = main_window.current_panel
    messages = []
    panel.status_message.connect(messages.append)
    target = tmp_path / "out.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *args: (str(target), "")))

    def write(path: str):
        target.write_text("{}")
        return target

    def fail(path: str):
        raise OSError(f"cannot write {path}: disk full")

    panel.save_with_dialog("Save", "out.json", "JSON (*.json)", write, "a note")
    panel.save_with_dialog("Save", "out.json", "JSON (*.json)", fail)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *args: ("", "")))  # cancelled
    panel.save_with_dialog("Save", "out.json", "JSON (*.json)", fail)
    assert messages == [f"Saved {target} (a note)", f"Error: cannot write {target}: disk full"]


def test_the_model_picker_names_the_loaded_model_however_its_path_was_spelled(main_window, qtbot, tiny_assets,
                                                                               monkeypatch):
    from playground.gui.panels.latent_panel import LatentPanel

    panel = next(p for p in main_window.panels if isinstance(p, LatentPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None, timeout=10000)
    monkeypatch.chdir(tiny_assets)
    main_window.load_into(panel, Path("gan-tiny") / "model.safetensors")  # relative; the picker lists absolute paths
    qtbot.waitUntil(lambda: panel.loaded.family == "gan", timeout=20000)
    assert main_window.model_picker.currentText().startswith("gan-tiny")
