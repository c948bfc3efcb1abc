"""A diffusers pipeline folder dropped on the window opens in its tab: the unconditional U-Net in
Diffusion, the Stable Diffusion layout in Text to image, where a free-text prompt renders."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from diffusers_pipelines import sd_pipeline, unconditional_pipeline  # noqa: E402

SHOTS = Path("/work/notes/shots")


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("diffusers-gui")
    return {"ddpm": unconditional_pipeline(root / "ddpm-cifar-like", "v_prediction"), "sd": sd_pipeline(root)}


def _loaded_from(panel, folder: Path) -> bool:
    return panel.loaded is not None and Path(panel.loaded.path).parent.parent == folder.resolve()


def test_dropped_folders_open_in_their_tabs_and_a_free_text_prompt_renders(main_window, qtbot, folders):
    from playground.gui.dropped import open_dropped

    diffusion, text2img = main_window.panel_for_family("ddpm"), main_window.panel_for_family("text2img")
    open_dropped(main_window, folders["ddpm"])
    qtbot.waitUntil(lambda: _loaded_from(diffusion, folders["ddpm"]), timeout=30000)
    assert not diffusion.controls.clip_box.isEnabled() and diffusion.controls.clip_box.isChecked()  # its config's
    assert "v_prediction" in diffusion.schedule_label.text()
    diffusion.controls.steps.set_value(5)
    with qtbot.waitSignal(diffusion.view.run_added, timeout=60000) as run:  # the steps view samples it
        diffusion.view.run_button.click()
    assert run.args[0].final_image().shape == (8, 8, 3)
    main_window.resize(1280, 720)
    QApplication.processEvents()
    SHOTS.mkdir(parents=True, exist_ok=True)
    main_window.grab().save(str(SHOTS / "diffusers-diffusion.png"))
    assert main_window.current_panel is diffusion
    picker = main_window.model_picker
    assert "diffusers ddpm" in picker.currentText() and "v_prediction" in picker.currentText()
    assert "8px" in picker.currentText()

    progress = []  # loading runs in the worker, part by part, with the status bar's progress
    text2img.worker.job_progress.connect(lambda label, done, total: progress.append((label, done, total)))
    open_dropped(main_window, folders["sd"] / "model_index.json")  # what "Open checkpoint…" hands over
    qtbot.waitUntil(lambda: _loaded_from(text2img, folders["sd"]), timeout=30000)
    assert ("Loading sd", 100, 100) in progress and ("Loading sd", 25, 100) in progress
    assert main_window.current_panel is text2img
    text2img.prompt.set_text("an astronaut riding a horse on mars")
    assert text2img.prompt.valid and "tokens:" in text2img.prompt.message.text()
    text2img.controls.sampler.steps.set_value(3)
    with qtbot.waitSignal(text2img.rendered, timeout=60000):
        text2img.generate()
    result = text2img.result
    assert result.settings.prompt == "an astronaut riding a horse on mars"
    assert result.trajectory.final_image().shape == (16, 16, 3)
    main_window.resize(1280, 720)
    QApplication.processEvents()
    SHOTS.mkdir(parents=True, exist_ok=True)
    main_window.grab().save(str(SHOTS / "diffusers-text2img.png"))

    tab = text2img.attention_tab  # cross-attention per prompt token: the tokenizer's tokens are the words
    with qtbot.waitSignal(tab.computed, timeout=60000):
        text2img.tabs.setCurrentWidget(tab)
    assert tab.run is not None and tab.run.words[0] == "<|startoftext|>" and "n" in tab.run.words
    QApplication.processEvents()
    main_window.grab().save(str(SHOTS / "diffusers-attention.png"))


def test_a_pickle_only_folder_says_why_in_the_dialog(main_window, qtbot, folders, tmp_path):
    from diffusers import DDPMPipeline

    pickled = tmp_path / "pickled"
    DDPMPipeline.from_pretrained(folders["ddpm"]).save_pretrained(pickled, safe_serialization=False)
    main_window.open_checkpoint(pickled)
    qtbot.waitUntil(lambda: main_window.last_dialog is not None, timeout=10000)
    text = main_window.last_dialog.text()
    assert "only pickle weights" in text and "safetensors" in text
    assert np.all([main_window.model_picker.itemText(i).find("pickled") < 0
                   for i in range(main_window.model_picker.count())])
