""""Nearest training images…": does the model copy? One dialog every panel with a generated image opens.

It shows the query image, its 8 nearest training images by pixel distance and by the attribute
classifier's features (`core.evaluation.nearest`), each with its distance, and how far apart two
typical training images are in the same units. The search runs in the calling panel's worker
(`Panel.submit`, channel "nearest"); the dialog is never modal and never waits.

A panel adds the action with one line: `nearest_button(self, lambda: self.current_image)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...core.evaluation import nearest
from .images import numpy_to_qimage

if TYPE_CHECKING:
    from ..panels.base import Panel
    from ..worker import JobContext

K = 8
TILE = 80  # px of one training image (32 px at 2.5x)
ROWS = (("pixels", "By pixels (RMS difference per channel, 0-255)"),
        ("features", "By the attribute classifier's features (Euclidean)"))


def _pixmap(image: np.ndarray, size: int) -> QPixmap:
    return QPixmap.fromImage(numpy_to_qimage(image)).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                                            Qt.TransformationMode.FastTransformation)


def search(image: np.ndarray, ctx: "JobContext | None" = None) -> dict:
    """The dialog's work (in a worker): for each distance, the k nearest training images with their
    indices and distances and the reference, or a message why there are none."""
    train = nearest.training_images("shapes")
    found: dict[str, dict] = {}
    for by, _ in ROWS:
        if ctx is not None:
            ctx.check()
        try:
            hit = nearest.nearest_training(image, k=K, by=by)[0]
            found[by] = {"indices": hit.indices, "distances": hit.distances, "images": train[hit.indices],
                         "reference": nearest.reference_distance(by)}
        except ValueError as exc:  # e.g. no shipped classifier for "features"
            found[by] = {"error": str(exc)}
    return found


class NearestDialog(QDialog):
    """The query image and two rows of its nearest training images, filled when the search returns."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Nearest training images")
        self.setModal(False)
        layout = QVBoxLayout(self)
        top = QGridLayout()
        self.query = QLabel()
        self.query.setFixedSize(2 * TILE, 2 * TILE)
        self.query.setAlignment(Qt.AlignmentFlag.AlignCenter)
        top.addWidget(self.query, 0, 0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        top.addWidget(self.status, 0, 1)
        top.setColumnStretch(1, 1)
        layout.addLayout(top)
        self.tiles: dict[str, list[QLabel]] = {}
        self.captions: dict[str, list[QLabel]] = {}
        self.references: dict[str, QLabel] = {}
        for by, title in ROWS:
            heading = QLabel(f"<b>{title}</b>")
            layout.addWidget(heading)
            grid = QGridLayout()
            self.tiles[by], self.captions[by] = [], []
            for i in range(K):
                tile, caption = QLabel(), QLabel("")
                tile.setFixedSize(TILE, TILE)
                tile.setStyleSheet("background: #16171a;")
                caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
                caption.setStyleSheet("color: #c8c8c8; font-size: 9pt;")
                grid.addWidget(tile, 0, i)
                grid.addWidget(caption, 1, i)
                self.tiles[by].append(tile)
                self.captions[by].append(caption)
            layout.addLayout(grid)
            self.references[by] = QLabel("")
            self.references[by].setStyleSheet("color: #aaa;")
            self.references[by].setWordWrap(True)
            layout.addWidget(self.references[by])
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        self.result: dict | None = None

    def set_query(self, image: np.ndarray, description: str = "") -> None:
        self.result = None
        self.query.setPixmap(_pixmap(image, 2 * TILE))
        self.status.setText(f"{description}\n" if description else "")
        self.status.setText(self.status.text() + "Searching the 19,000 training images… (the first search "
                            "renders them once, about a minute, then they are cached)")
        for by, _ in ROWS:
            for tile, caption in zip(self.tiles[by], self.captions[by]):
                tile.clear()
                caption.setText("")
            self.references[by].setText("")

    def show_result(self, result: dict) -> None:
        self.result = result
        lines = []
        for by, _ in ROWS:
            row = result[by]
            if "error" in row:
                self.references[by].setText(row["error"])
                continue
            for i, (tile, caption) in enumerate(zip(self.tiles[by], self.captions[by])):
                if i < len(row["indices"]):
                    tile.setPixmap(_pixmap(row["images"][i], TILE))
                    tile.setToolTip(f"training image {row['indices'][i]}")
                    caption.setText(f"#{row['indices'][i]}\n{row['distances'][i]:.1f}")
            reference = row["reference"]
            self.references[by].setText(f"For reference, {reference.describe()}.")
            lines.append(f"{by}: nearest {row['distances'][0]:.1f} (training images: typically "
                         f"{reference.random_pair:.1f} apart, {reference.nearest_other:.1f} to the nearest other)")
        verdict = self._verdict(result)
        self.status.setText("\n".join(lines + ([verdict] if verdict else [])))

    @staticmethod
    def _verdict(result: dict) -> str:
        row = result.get("pixels", {})
        if "distances" not in row:
            return ""
        if row["distances"][0] < 0.5:
            return ("A training image is identical to it, pixel for pixel. On shapes many renders repeat "
                    "(11,664 distinct ones exist), so a fresh render is often in the training set too.")
        return (f"No training image is identical to it: the nearest differs by {row['distances'][0]:.1f} "
                f"(two training images drawn at random differ by {row['reference'].random_pair:.1f}).")


def show_nearest(panel: "Panel", image: np.ndarray | None, description: str = "") -> NearestDialog | None:
    """Open (or bring up) the panel's dialog for `image` and search in the panel's worker."""
    if image is None:
        panel.report("No image yet to compare with the training images")
        return None
    image = np.ascontiguousarray(np.asarray(image, np.uint8)[..., :3]).copy()
    if image.shape != (32, 32, 3):
        panel.report(f"Nearest training images compare 32x32 images; this one is {image.shape[1]}x{image.shape[0]}")
        return None
    dialog = getattr(panel, "_nearest_dialog", None)
    if dialog is None:
        dialog = panel._nearest_dialog = NearestDialog(panel)
    dialog.set_query(image, description)
    dialog.show()
    dialog.raise_()
    panel.submit(lambda ctx: search(image, ctx), channel="nearest", on_result=dialog.show_result,
                 label="nearest training images")
    return dialog


def nearest_button(panel: "Panel", current_image: Callable[[], np.ndarray | None],
                   text: str = "Nearest training images…") -> QPushButton:
    """A button that opens the dialog for what `current_image()` returns when pressed."""
    button = QPushButton(text)
    button.setToolTip("The 8 training images nearest to this image by pixels and by classifier features, "
                      "with distances: does the model copy its training images?")
    button.clicked.connect(lambda: show_nearest(panel, current_image()))
    return button
