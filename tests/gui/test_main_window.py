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


def test_a_model_picked_while_another_loads_is_the_one_that_ends_up_loaded(main_window, qtbot, monkeypatch):
    """Picking right after start-up, while the default still loads, must not be undone by it."""
    import threading as _threading

    import playground.gui.main_window as main_window_module
    from playground.gui.panels.latent_panel import LatentPanel

    panel = next(p for p in main_window.panels if isinstance(p, LatentPanel))
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and not panel.worker.is_busy("load"), timeout=10000)
    slow_started, release = _threading.Event(), _threading.Event()
    real_load = main_window_module.load_checkpoint

    def slow_vae_load(path, device):
        if "vae" in str(path):  # the default, still loading when the user picks
            slow_started.set()
            release.wait(10)
        return real_load(path, device)

    monkeypatch.setattr(main_window_module, "load_checkpoint", slow_vae_load)
    picker = main_window.model_picker
    vae = next(i for i in range(picker.count()) if "vae" in picker.itemText(i))
    main_window.load_into(panel, Path(picker.itemData(vae)))
    assert slow_started.wait(10)
    gan = next(i for i in range(picker.count()) if picker.itemText(i).startswith("gan-tiny"))
    picker.setCurrentIndex(gan)
    picker.activated.emit(gan)  # what a user's click emits
    release.set()
    qtbot.waitUntil(lambda: panel.loaded.family == "gan", timeout=20000)
    qtbot.waitUntil(lambda: not panel.worker.is_busy("load"), timeout=10000)
    assert panel.loaded.family == "gan" and picker.currentText().startswith("gan-tiny")
