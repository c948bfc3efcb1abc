"""Likelihood: where the model is surprised. Any image (the data set's, or a file) is encoded to its
VQ tokens and read by the transformer teacher-forced under the prompt above (empty: the
unconditional prior): each cell's −log2 p(code | prompt, the cells before) as a heat map, the
total in bits per token and bits per dimension (`core.tokens.likelihood`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ....core.data import to_tensor, to_uint8
from ....core.data.shapes import PromptError
from ....core.serving.remote_tokens import remote_token_nll
from ....core.tokens.likelihood import LN2, bits_per_dim, bits_per_token, discretised_gaussian_bits, token_nll_of_tokens
from ...twins import remotable
from ...widgets.gallery import DataGallery
from ...widgets.image_file import ask_image_path, open_image_file
from ...widgets.titled import SMALL_TITLE, SUBTITLE_STYLE, NumberTiles, TitledCanvas, fmt, note_label
from .heatmap import GridHeatMap

if TYPE_CHECKING:
    from .panel import TokensPanel

NOTE = ("<b>Likelihood.</b> The image is encoded to its tokens; the transformer reads them teacher-forced "
        "and each cell shows −log₂ p(its code | prompt, the cells before it): bright = surprised. "
        "Bits per dimension = the tokens' total bits / (3·32·32): the code length of the tokens, not of the "
        "pixels (the encoder drops what the codebook cannot say); the bound adds the decoder's term.")


@dataclass(frozen=True)
class LikelihoodResult:
    name: str
    prompt: str
    image: np.ndarray           # (H, W, 3) uint8
    reconstruction: np.ndarray  # (H, W, 3) uint8: the decode of its tokens
    bits: np.ndarray            # (g, g) bits per cell
    bits_per_token: float
    bits_per_dim: float
    bound_bits_per_dim: float   # tokens + the decoder's discretised-Gaussian term


def likelihood(model, image: np.ndarray, prompt: str, name: str, server=None) -> LikelihoodResult:
    """The per-cell surprise of one (H, W, 3) uint8 image (runs in the worker; the model's part on the
    model server when `server` is a connection)."""
    x = to_tensor(image[None])
    if server is not None:
        nll, decoded = remote_token_nll(server, model, image, prompt)
    else:
        tokens = model.encode(x)
        nll = token_nll_of_tokens(model, tokens, prompt)
        decoded = model.decode(tokens).cpu()
    dims = x[0].numel()
    decoder_bits = float(discretised_gaussian_bits(x, decoded)[0]) / dims
    token_bpd = float(bits_per_dim(nll, dims)[0])
    return LikelihoodResult(name, prompt, image, to_uint8(decoded)[0], (nll[0] / LN2).numpy(),
                            float(bits_per_token(nll)[0]), token_bpd, token_bpd + decoder_bits)


class LikelihoodTab(QWidget):
    computed = Signal()

    def __init__(self, panel: TokensPanel, parent: QWidget | None = None):
        super().__init__(parent)
        self.panel = panel
        self.result: LikelihoodResult | None = None
        self.source: tuple[np.ndarray, str] | None = None
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.addWidget(note_label(NOTE))
        row = QHBoxLayout()
        left = QVBoxLayout()
        title = QLabel("Pick an image")
        title.setStyleSheet(SMALL_TITLE)
        self.gallery = DataGallery(icon_px=40)
        self.open_button = QPushButton("Open image…")
        left.addWidget(title)
        left.addWidget(self.gallery, 1)
        left.addWidget(self.open_button)
        self.image_canvas = TitledCanvas("Image", "", minimum=200)
        self.recon_canvas = TitledCanvas("VQ reconstruction", "what its tokens decode to", minimum=200)
        heat = QVBoxLayout()
        heat_title = QLabel("Surprise per cell (bits)")
        heat_title.setStyleSheet("color: #e6e6e6; font-size: 15pt; font-weight: bold;")
        self.heat_caption = QLabel("")
        self.heat_caption.setStyleSheet(SUBTITLE_STYLE)
        self.heatmap = GridHeatMap("bits", minimum=260)
        heat.addWidget(heat_title)
        heat.addWidget(self.heat_caption)
        heat.addWidget(self.heatmap, 1)
        pictures = QVBoxLayout()
        canvases = QHBoxLayout()
        canvases.addWidget(self.image_canvas, 1)
        canvases.addWidget(self.recon_canvas, 1)
        canvases.addLayout(heat, 1)
        self.numbers = NumberTiles([("bpt", "bits per token"), ("bpd", "bits per dimension (tokens)"),
                                    ("total", "total bits"), ("bound", "bound with the decoder (bits/dim)"),
                                    ("worst", "most surprising cell")])
        pictures.addLayout(canvases, 1)
        pictures.addWidget(self.numbers)
        row.addLayout(left, 1)
        row.addLayout(pictures, 5)
        root.addLayout(row, 1)
        self.gallery.picked.connect(self._on_picked)
        self.open_button.clicked.connect(self._open_dialog)

    def on_model(self) -> None:
        self.result = None
        self.heatmap.show_values(None)
        self.numbers.set_values({})

    def activate(self) -> None:
        """The gallery (its first image picked) on first show; else the shown image again with the new model."""
        if self.gallery.data is None:
            self.gallery.load(self.panel, "shapes", select_first=True)
        elif self.source is not None:
            self.compute(*self.source)

    def _on_picked(self, index: int) -> None:
        self.compute(self.gallery.image(index), self.gallery.describe(index))

    def _open_dialog(self) -> None:
        path = ask_image_path(self)
        if path and self.panel.loaded is not None:
            size = self.panel.loaded.model.config.image_size
            open_image_file(self.panel, path, size, self.compute)

    def refresh(self) -> None:
        """The prompt changed: read the shown image again (if this tab is on screen)."""
        if self.isVisible() and self.source is not None:
            self.compute(*self.source)

    def compute(self, image: np.ndarray, name: str) -> None:
        if self.panel.loaded is None or image is None:
            return
        self.source = (image, name)
        try:
            prompt = self.panel.prompt_text()
        except PromptError as exc:
            self.panel.report_error(str(exc))
            return
        model = self.panel.loaded.model
        self.image_canvas.set_image(image)
        self.image_canvas.set_caption(name)
        self.panel.submit(remotable(lambda ctx: likelihood(model, image, prompt, name),
                                    lambda ctx, server: likelihood(model, image, prompt, name, server)),
                          channel="likelihood", on_result=self._show)

    def _show(self, result: LikelihoodResult) -> None:
        self.result = result
        self.recon_canvas.set_image(result.reconstruction)
        self.heatmap.show_values(result.bits)
        g = result.bits.shape[0]
        worst = int(result.bits.argmax())
        self.heat_caption.setText(f"under {repr(result.prompt) if result.prompt else 'the empty prompt (the prior)'}")
        self.numbers.set_values({"bpt": fmt(result.bits_per_token), "bpd": fmt(result.bits_per_dim),
                                 "total": fmt(float(result.bits.sum()), 5),
                                 "bound": fmt(result.bound_bits_per_dim),
                                 "worst": f"row {worst // g}, col {worst % g}: {result.bits.flat[worst]:.1f}"})
        self.computed.emit()
