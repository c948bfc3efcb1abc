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
    widest = max(main_window.panels, key=lambda p: p.minimumSizeHint().width())
    main_window.show_panel(widest)
    QApplication.processEvents()
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
    panel = main_window.panel_for_family("vae")
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
    panel = main_window.panel_for_family("vae")
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


# --- opening at a size that fits, and remembering it ------------------------------------------------


@pytest.fixture
def open_window(qtbot, tiny_assets, monkeypatch):
    """Windows made as the app makes them (no fixed test size); each closed and checked for threads."""
    import threading

    import torch

    from playground.gui.main_window import MainWindow

    monkeypatch.setenv("PLAYGROUND_ASSETS", str(tiny_assets))
    before = {t.ident for t in threading.enumerate()}
    windows = []

    def make(checkpoint: str | None = None) -> MainWindow:
        window = MainWindow(torch.device("cpu"), checkpoint)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
    leaked = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert not leaked, f"threads left running after close: {leaked}"


def _all_loaded(window) -> bool:
    return all(p.loaded is not None for p in window.panels if p.families)


def test_the_window_opens_inside_a_1280x720_screen(open_window, monkeypatch):
    from PySide6.QtCore import QRect

    from playground.gui import window_state

    screen = QRect(0, 0, 1280, 720)
    monkeypatch.setattr(window_state, "available_geometry", lambda window: screen)
    window = open_window()
    frame_room = window_state.TITLE_BAR
    assert window.width() <= 1280 and window.height() + frame_room <= 720
    assert screen.contains(window.geometry())
    QApplication.processEvents()
    status = window.statusBar()
    assert status.isVisible() and status.geometry().bottom() < window.height()  # the status bar is on screen


def test_the_window_reopens_with_the_size_place_tab_and_splitters_it_was_left_with(open_window, qtbot, monkeypatch):
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QSplitter

    from playground.gui import window_state

    monkeypatch.setattr(window_state, "available_geometry", lambda window: QRect(0, 0, 1280, 720))
    window = open_window()
    window.resize(720, 540)  # inside the offscreen screen (800x800): Qt keeps a restored window on its screen
    window.move(40, 50)
    train = next(p for p in window.panels if p.title == "Train")
    window.show_panel(train)
    splitter = train.findChild(QSplitter)
    splitter.setSizes([300, 400, 250])
    QApplication.processEvents()
    sizes, geometry = splitter.sizes(), window.geometry()
    window.close()

    again = open_window()
    QApplication.processEvents()
    assert again.size().toTuple() == (720, 540) and again.geometry() == geometry
    assert again.current_panel.title == "Train"
    assert again.current_panel.findChild(QSplitter).sizes() == sizes


def test_the_window_state_stays_in_the_tests_temporary_settings(open_window, private_user_folders):
    window = open_window()
    window.close()
    assert list((private_user_folders / "config").rglob("*.ini")), "settings written under the test's folder"


# --- a checkpoint that does not open -------------------------------------------------------------------


def test_a_non_checkpoint_on_the_command_line_leaves_every_tab_with_its_default(open_window, qtbot, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping: eggs")
    window = open_window(str(notes))
    assert window.last_dialog is not None and "notes.txt" in window.last_dialog.text()
    assert "not a checkpoint" in window.last_dialog.text()
    qtbot.waitUntil(lambda: _all_loaded(window), timeout=30000)
    for panel in window.panels:
        window.show_panel(panel)
        if panel.families:  # the picker names the model each tab really holds
            assert window.model_picker.currentText().startswith(panel.loaded.name)
            assert window.model_picker.currentData() == str(Path(panel.loaded.path).resolve())


def _broken_copy(tiny_assets, tmp_path, name: str = "vae-tiny") -> Path:
    """A checkpoint whose JSON reads fine and whose weights are cut short."""
    import shutil

    folder = tmp_path / f"broken-{name}"
    shutil.copytree(tiny_assets / name, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    return folder


def test_a_checkpoint_that_fails_to_load_at_start_leaves_its_tab_the_default(open_window, qtbot, tiny_assets,
                                                                             tmp_path):
    broken = _broken_copy(tiny_assets, tmp_path)
    window = open_window(str(broken))
    qtbot.waitUntil(lambda: _all_loaded(window), timeout=30000)
    panel = window.panel_for_family("vae")
    assert window.current_panel is panel and panel.loaded.name == "vae-tiny"
    assert window.model_picker.currentText().startswith("vae-tiny")
    assert "broken-vae-tiny" in window.last_dialog.text() and "corrupt" in window.last_dialog.text()


def test_a_checkpoint_that_fails_from_the_picker_keeps_the_tab_s_model(main_window, qtbot, tiny_assets, tmp_path):
    panel = main_window.panel_for_family("gan")
    main_window.show_panel(panel)
    qtbot.waitUntil(lambda: _all_loaded(main_window), timeout=30000)
    before = panel.loaded
    main_window.open_checkpoint(_broken_copy(tiny_assets, tmp_path, "gan-tiny"))  # Ctrl+O and drops go here too
    qtbot.waitUntil(lambda: main_window.last_dialog is not None, timeout=10000)
    qtbot.waitUntil(lambda: not panel.worker.is_busy("load"), timeout=10000)
    assert panel.loaded is before
    assert main_window.model_picker.currentData() == str(Path(before.path).resolve())
    assert not any("broken" in main_window.model_picker.itemText(i) for i in range(main_window.model_picker.count()))


# --- messages ----------------------------------------------------------------------------------------


def test_an_error_that_no_longer_holds_leaves_the_status_bar(main_window):
    text2img, latent = main_window.panel_for_family("text2img"), main_window.panel_for_family("vae")
    status = main_window.statusBar()
    text2img.report_error("unknown word 'gigantic'")
    assert status.currentMessage() == "Error: unknown word 'gigantic'"
    text2img.clear_error()  # the next prompt rendered
    assert status.currentMessage() == ""
    text2img.report_error("unknown word 'gigantic'")
    latent.report("Rendered z from seed 3")
    text2img.clear_error()  # withdraws its own message only
    assert status.currentMessage() == "Rendered z from seed 3"


def test_opening_a_file_that_is_not_a_checkpoint_says_which_and_why(main_window, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    main_window.open_checkpoint(notes)
    text = main_window.last_dialog.text()
    assert "notes.txt" in text and "not a checkpoint" in text and "Error" not in text
    main_window.open_checkpoint(tmp_path / "missing.safetensors")
    assert "missing.safetensors" in main_window.last_dialog.text()
    assert "no such file" in main_window.last_dialog.text()


# --- the model picker ----------------------------------------------------------------------------------


def test_the_model_picker_shows_a_long_name_whole_at_1280x720_and_elides_a_huge_one(themed, main_window, qtbot,
                                                                                    tiny_assets, tmp_path):
    import shutil

    main_window.resize(*PROJECTOR)
    picker = main_window.model_picker
    panel = main_window.panel_for_family("gan")
    for name in ("gan-shapes-ns-r1-lazy-from-16000-to-40000-steps", "g" * 240):
        folder = tmp_path / name
        shutil.copytree(tiny_assets / "gan-tiny", folder)
        main_window.open_checkpoint(folder)
        qtbot.waitUntil(lambda: panel.loaded is not None and panel.loaded.path.parent == folder, timeout=20000)
        QApplication.processEvents()
        assert picker.currentText().startswith(name) and name in picker.toolTip()
        assert picker.geometry().right() < main_window.width()  # the picker stays inside the toolbar
        shown = picker.displayed_text()
        if len(name) < 100:
            assert shown == picker.currentText()  # whole: nothing cut off
        else:
            assert shown.endswith("…") and shown[:-1] and name.startswith(shown[:-1])


# --- dropping files on the window --------------------------------------------------------------------------


def _drop(window, path: Path) -> bool:
    from PySide6.QtCore import QMimeData, QPoint, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtCore import Qt

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    return True


def test_a_dropped_png_restores_its_recipe_in_the_tab_of_its_family(main_window, qtbot, tmp_path, monkeypatch):
    import numpy as np

    from playground.core.images import save_png

    qtbot.waitUntil(lambda: _all_loaded(main_window), timeout=30000)
    panel = main_window.panel_for_family("ddpm")
    restored = []
    monkeypatch.setattr(panel, "load_png", restored.append)
    image = tmp_path / "sample.png"
    save_png(image, np.zeros((8, 8, 3), np.uint8), {"family": "ddpm", "model": "ddpm-tiny", "seed": 3})
    main_window.show_panel(main_window.panels[-1])
    assert _drop(main_window, image)
    assert restored == [image] and main_window.current_panel is panel


def test_a_dropped_checkpoint_opens_and_anything_else_is_explained(main_window, qtbot, tiny_assets, tmp_path):
    import numpy as np

    from playground.core.images import save_png

    panel = main_window.panel_for_family("gan")
    assert _drop(main_window, tiny_assets / "gan-tiny")  # a checkpoint folder
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.loaded.family == "gan", timeout=20000)
    assert main_window.current_panel is panel
    status = main_window.statusBar()
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    assert _drop(main_window, notes)
    assert "notes.txt" in status.currentMessage() and "not a PNG or a checkpoint" in status.currentMessage()
    plain = save_png(tmp_path / "holiday.png", np.zeros((4, 4, 3), np.uint8))
    assert _drop(main_window, plain)
    assert "holiday.png" in status.currentMessage() and "no playground recipe" in status.currentMessage()
    odd = save_png(tmp_path / "odd.png", np.zeros((4, 4, 3), np.uint8), {"family": "tokens-and-clip"})
    assert _drop(main_window, odd)
    assert "odd.png" in status.currentMessage() and "tokens-and-clip" in status.currentMessage()
