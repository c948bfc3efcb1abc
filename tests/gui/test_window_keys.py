"""The window's keys and menus, tried as a new user would: Ctrl+Q, F11, Ctrl+plus, F1, Ctrl+Enter, Space."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel

from playground.gui import theme
from playground.gui.dialogs import last_folder, remember_folder
from playground.gui.panels.diffusion import DiffusionPanel
from playground.gui.window_state import saved_look, window_settings

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def look(qapp):
    """The app's theme, zoom and font as they were, put back afterwards (the app outlives the test)."""
    font, palette, style, sheet = QFont(qapp.font()), qapp.palette(), qapp.style().name(), qapp.styleSheet()
    names = ("playgroundTheme", "playgroundZoom")
    properties = {name: qapp.property(name) for name in names}
    yield
    theme.apply_theme(qapp, "dark", 1.0)  # widgets get their own style sheets back
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)
    qapp.setFont(font)
    for name, value in properties.items():
        qapp.setProperty(name, value)


@pytest.fixture
def window(main_window, qtbot):
    """The main window, active (window shortcuts need an active window)."""
    main_window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is main_window, timeout=5000)
    return main_window


def _diffusion(window, qtbot) -> DiffusionPanel:
    panel = next(p for p in window.panels if isinstance(p, DiffusionPanel))
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.active, timeout=10000)
    return panel


def _ddim(panel, steps: int = 6) -> None:
    controls = panel.controls
    controls.sampler_box.setCurrentIndex(controls.sampler_box.findData("ddim"))
    controls.steps.setText(str(steps))


def _axes(widget):
    import pyqtgraph as pg

    views = [widget] * isinstance(widget, pg.GraphicsView) + widget.findChildren(pg.GraphicsView)
    return [item for view in views for item in view.scene().items() if isinstance(item, pg.AxisItem)]


def test_the_menu_bar_has_file_view_and_help(window):
    assert window.menuWidget() is None, "the menus share the toolbar's row: no row of their own"
    assert window.menus.bar.isVisible()
    titles = [a.text().replace("&", "") for a in window.menus.bar.actions()]
    assert titles[:3] == ["File", "View", "Help"]
    assert window.menu("View").title().replace("&", "") == "View"
    extra = window.menu("Presenter")  # another helper's menu: before Help
    titles = [a.text().replace("&", "") for a in window.menus.bar.actions()]
    assert titles.index("Presenter") == titles.index("Help") - 1 and window.menu("Presenter") is extra


def test_ctrl_q_closes_the_window(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_Q, CTRL)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=5000)


def test_f11_toggles_full_screen(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_F11)
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    assert window.menus.actions["full_screen"].isChecked()
    qtbot.keyClick(window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5000)
    assert not window.menus.actions["full_screen"].isChecked()
    window.showFullScreen()  # e.g. presenter mode: the View menu's tick follows
    qtbot.waitUntil(lambda: window.menus.actions["full_screen"].isChecked(), timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5000)


def test_ctrl_plus_scales_the_fonts_of_a_panel_and_is_remembered(look, window, qtbot):
    panel = _diffusion(window, qtbot)
    styled = panel.schedule_label  # its own style sheet says 12pt
    plain = next(label for label in panel.findChildren(QLabel) if not label.styleSheet() and label.isVisible())
    before = styled.font().pointSizeF(), plain.font().pointSizeF()
    axis = next(a for a in _axes(panel.plots) if a.style["tickFont"] is not None)  # a plot's tick labels
    ticks = axis.style["tickFont"].pointSizeF()
    qtbot.keyClick(window, Qt.Key.Key_Plus, CTRL)
    qtbot.keyClick(window, Qt.Key.Key_Equal, CTRL)  # Ctrl+= : the same key without Shift
    zoom = theme.current_zoom(QApplication.instance())
    assert zoom > 1.15
    assert styled.font().pointSizeF() == pytest.approx(before[0] * zoom, abs=0.1)
    assert plain.font().pointSizeF() == pytest.approx(before[1] * zoom, abs=0.1)
    assert axis.style["tickFont"].pointSizeF() == pytest.approx(ticks * zoom, abs=0.1)
    assert saved_look(window_settings()) == ("dark", zoom)  # the next start opens at this zoom
    qtbot.keyClick(window, Qt.Key.Key_Minus, CTRL)
    assert before[0] < styled.font().pointSizeF() < before[0] * zoom
    qtbot.keyClick(window, Qt.Key.Key_0, CTRL)
    assert (styled.font().pointSizeF(), plain.font().pointSizeF()) == before
    assert axis.style["tickFont"].pointSizeF() == ticks
    assert styled.styleSheet() == "color: #8fc3ff; font-size: 12pt; padding-left: 12px;"  # its own sheet, back


def test_the_light_theme_turns_light_text_dark(look, window, qtbot):
    panel = _diffusion(window, qtbot)
    window.menus.actions["light"].trigger()
    app = QApplication.instance()
    assert theme.current_theme(app) == "light" and window.menus.actions["light"].isChecked()
    assert app.palette().window().color().lightness() > 240 and app.palette().windowText().color().lightness() < 20
    colour = panel.schedule_label.palette().windowText().color()
    assert colour.lightness() < 100, "a label's own light-blue text must read on white"
    assert saved_look(window_settings())[0] == "light"


def test_f1_lists_every_shortcut_with_ctrl_enter_and_space(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_F1)
    dialog = window.menus.help_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible(), timeout=5000)
    text = dialog.text()
    for keys in ("Ctrl+Enter", "Space", "Ctrl+Q", "F11", "Ctrl++", "Ctrl+0", "F1", "Ctrl+O"):
        assert keys in text, keys
    assert "PageDown" in text and "Next scene" in text  # presenter mode's (a clicker's) keys
    dialog.close()
    qtbot.keyClick(window, Qt.Key.Key_Question)
    qtbot.waitUntil(lambda: window.menus.help_dialog is not dialog and window.menus.help_dialog.isVisible(),
                    timeout=5000)
    window.menus.help_dialog.close()


def test_ctrl_enter_runs_in_the_diffusion_tab(window, qtbot):
    panel = _diffusion(window, qtbot)
    _ddim(panel)
    assert panel.view.current is None
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Return, CTRL)
    qtbot.waitUntil(lambda: panel.view.current is not None and not panel.view.sampling, timeout=30000)
    assert "Ctrl+Enter" in panel.view.run_button.toolTip()


def test_every_tab_has_a_button_for_ctrl_enter(window, qtbot):
    for panel in window.panels:
        window.show_panel(panel)
        QApplication.processEvents()
        button = panel.primary()
        assert button is not None, f"{panel.title}: Ctrl+Enter does nothing"
        assert "Ctrl+Enter" in button.toolTip(), f"{panel.title}: {button.text()!r} does not say its key"


def test_space_plays_and_pauses_the_steps_but_types_in_a_text_box(window, qtbot):
    panel = _diffusion(window, qtbot)
    _ddim(panel, steps=8)
    panel.view.run_button.click()
    qtbot.waitUntil(lambda: panel.view.current is not None and not panel.view.sampling, timeout=30000)
    play = panel.view.scrubber.play_button
    assert not play.isChecked() and "Space" in play.toolTip()
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert play.isChecked()
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not play.isChecked()
    field = panel.controls.steps
    field.setFocus()
    qtbot.waitUntil(field.hasFocus, timeout=5000)
    field.setText("8")
    field.end(False)
    qtbot.keyClick(field, Qt.Key.Key_Space)
    assert not play.isChecked(), "Space in a text box is typing, not playing"
    assert field.text() == "8 "
    qtbot.keyClick(field, Qt.Key.Key_Question)
    assert window.menus.help_dialog is None, "? in a text box is typing, not help"


def test_the_file_dialog_opens_in_the_folder_last_used(window, tiny_assets, monkeypatch):
    asked: list[str] = []
    chosen = Path(tiny_assets) / "vae-tiny" / "model.safetensors"

    def dialog(parent, title, folder, file_filter):
        asked.append(folder)
        return (str(chosen) if len(asked) == 1 else ""), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(dialog))
    window.open_checkpoint_dialog()
    window.open_checkpoint_dialog()
    assert Path(asked[1]) == chosen.parent.resolve()


def test_each_kind_of_file_remembers_its_folder(tmp_path):
    pictures, grids = tmp_path / "pictures", tmp_path / "grids"
    pictures.mkdir()
    grids.mkdir()
    remember_folder("png", pictures / "a.png")
    assert Path(last_folder("png")) == pictures
    assert Path(last_folder("grid")) == pictures  # never used: where the last dialog was
    remember_folder("grid", grids)
    assert Path(last_folder("grid")) == grids and Path(last_folder("png")) == pictures
    grids.rmdir()
    assert last_folder("grid") == str(Path.cwd())  # folders that are gone are skipped


def test_the_shortcuts_dialog_says_what_ctrl_enter_and_space_press_in_each_tab(window):
    window.menus.show_shortcuts()
    text = window.menus.help_dialog.text()
    assert "Diffusion: Run / Compare" in text and "Diffusion: Play" in text
    assert "Train: Start" in text and "Train: Pause" in text
    window.menus.help_dialog.close()


def test_ctrl_enter_generates_in_the_tokens_tab(window, qtbot):
    from playground.gui.panels.tokens import TokensPanel

    panel = next(p for p in window.panels if isinstance(p, TokensPanel))
    window.show_panel(panel)
    qtbot.waitUntil(lambda: panel.loaded is not None and panel.active, timeout=10000)
    assert panel.token_tab.frame is None
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Enter, CTRL)  # the keypad's Enter
    qtbot.waitUntil(lambda: panel.token_tab.frame is not None, timeout=20000)


def test_present_enters_presenter_mode_on_the_lesson_once_shown(qtbot, tiny_assets, monkeypatch):
    import torch

    from playground.gui.main_window import MainWindow
    from playground.gui.presenter import Presenter

    entered = []
    monkeypatch.setattr(Presenter, "enter", lambda self, lesson=None: entered.append(lesson))
    monkeypatch.setenv("PLAYGROUND_ASSETS", str(tiny_assets))
    window = MainWindow(torch.device("cpu"), lesson="vae", present=True)
    qtbot.addWidget(window)
    assert isinstance(window.presenter, Presenter) and entered == []
    window.show()
    qtbot.waitUntil(lambda: entered == ["vae"], timeout=5000)
    window.close()


def test_ctrl_l_loads_a_png_into_the_tab_that_made_it(window, qtbot, tmp_path, monkeypatch):
    from playground.gui.panels.latent import LatentPanel

    latent = next(p for p in window.panels if isinstance(p, LatentPanel))
    window.show_panel(latent)
    qtbot.waitUntil(lambda: latent.loaded is not None and latent.active, timeout=10000)
    saved = latent.export_png(tmp_path / "z.png")
    window.show_panel(window.panels[-1])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *args: (str(saved), "")))
    qtbot.keyClick(window, Qt.Key.Key_L, CTRL)
    qtbot.waitUntil(lambda: window.current_panel is latent, timeout=5000)
    assert "Restored" in window.statusBar().currentMessage()
