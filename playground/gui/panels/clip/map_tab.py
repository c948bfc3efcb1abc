"""Map: data-set images and prompts in one plane of CLIP's joint embedding space.

PCA of the joint embeddings (deterministic) or t-SNE (neighbourhoods; seconds to compute).
Images are points coloured by an attribute (or thumbnails), prompts white stars with their
words. Contrastive models keep images and texts in separate regions (the "modality gap");
"close the gap" centres each modality on its own mean, so each word lands among its images.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from ....core.clip.embedding_map import DEFAULT_MAP_PROMPTS, EmbeddingMap, embedding_map
from ....core.clip.retrieval import POOL_SIZE, pool_embeddings
from ....core.clip.scores import prompt_embeddings
from ....core.data.shapes import ATTRIBUTE_VALUES, ATTRIBUTES, parse_prompt
from ....core.serving.remote_tokens import remote_image_embeddings, remote_prompt_embeddings
from ...widgets.images import BACKGROUND
from ...widgets.palette import label_palette
from ...widgets.titled import note_label

if TYPE_CHECKING:
    from .panel import ClipPanel

MAP_POINTS = 400   # pool images on the map (t-SNE of 400 points takes seconds)
THUMBNAILS = 120   # images drawn as thumbnails when thumbnails are on
METHOD_NAMES = {"PCA": "pca", "t-SNE": "tsne"}


def parse_prompt_list(text: str) -> list[str]:
    """Comma-separated prompts, each checked (PromptError names a bad word); at least one."""
    prompts = [p.strip() for p in text.split(",") if p.strip()]
    if not prompts:
        raise ValueError("type at least one prompt (separated by commas)")
    for p in prompts:
        parse_prompt(p)
    return prompts


def label_groups(xy: np.ndarray, names: list[str], near: float = 0.12) -> list[tuple[tuple[float, float], list[str]]]:
    """Prompts whose points lie within `near` of the map's span of a group's first point share one label
    (their words stacked), so labels of neighbouring prompts do not print over each other."""
    span = float(np.ptp(xy, axis=0).max()) if len(xy) > 1 else 1.0
    groups: list[tuple[tuple[float, float], list[str]]] = []
    for (x, y), name in zip(xy.tolist(), names):
        for (gx, gy), members in groups:
            if abs(x - gx) < near * span and abs(y - gy) < near * span:
                members.append(name)
                break
        else:
            groups.append(((x, y), [name]))
    return groups


class MapTab(QWidget):
    title = "Map"

    def __init__(self, panel: ClipPanel):
        super().__init__()
        self.panel = panel
        self.map: EmbeddingMap | None = None
        self.labels: np.ndarray | None = None
        self.images: np.ndarray | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.method_box = QComboBox()
        self.method_box.addItems(list(METHOD_NAMES))
        self.colour_box = QComboBox()
        self.colour_box.addItems(list(ATTRIBUTES))
        self.colour_box.setCurrentText("color")
        self.gap_box = QCheckBox("close the modality gap")
        self.gap_box.setToolTip("Centre images and prompts each on their own mean before projecting")
        self.thumbs_box = QCheckBox("thumbnails")
        self.prompts_edit = QLineEdit(", ".join(DEFAULT_MAP_PROMPTS))
        self.prompts_edit.setToolTip("Prompts to place on the map, separated by commas")
        self.apply_button = QPushButton("Apply")
        for label, w in (("method", self.method_box), ("colour by", self.colour_box)):
            row.addWidget(QLabel(label))
            row.addWidget(w)
        row.addWidget(self.gap_box)
        row.addWidget(self.thumbs_box)
        row.addWidget(QLabel("prompts"))
        row.addWidget(self.prompts_edit, 1)
        row.addWidget(self.apply_button)
        layout.addLayout(row)
        self.info = note_label(f"{MAP_POINTS} data-set images and the prompts, projected together.")
        layout.addWidget(self.info)
        self.plot = pg.PlotWidget(background=BACKGROUND)
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.12)
        item.setAspectLocked(True)
        self.legend = item.addLegend(offset=(-8, 8), labelTextColor="#dddddd", brush=pg.mkBrush(30, 30, 34, 200))
        layout.addWidget(self.plot, 1)
        self.groups: list[pg.ScatterPlotItem] = []  # one per value of the colouring attribute (one brush each: fast)
        self.prompt_points = pg.ScatterPlotItem(size=18, symbol="star", pen=pg.mkPen("#000000", width=1),
                                                brush=pg.mkBrush("#ffffff"))
        self.prompt_points.setZValue(20)
        self.plot.addItem(self.prompt_points)
        self.texts: list[pg.TextItem] = []
        self.thumbs: list[pg.ImageItem] = []
        self.method_box.currentTextChanged.connect(lambda _: self.request())
        self.gap_box.toggled.connect(lambda _: self.request())
        self.apply_button.clicked.connect(self.request)
        self.prompts_edit.returnPressed.connect(self.request)
        self.colour_box.currentTextChanged.connect(lambda _: self._draw_points())
        self.thumbs_box.toggled.connect(lambda _: self._draw_thumbnails())

    def on_model(self) -> None:
        self.map = None
        self._draw()

    def activate(self) -> None:
        self.request()

    def request(self) -> None:
        if self.panel.loaded is None:
            return
        try:
            prompts = parse_prompt_list(self.prompts_edit.text())
        except ValueError as exc:
            self.panel.report_error(str(exc))
            return
        loaded, method, gap = self.panel.loaded, METHOD_NAMES[self.method_box.currentText()], self.gap_box.isChecked()

        def work(ctx, server=None):  # with a model server's connection (gui/remote_worker.py) its embeddings
            embed = None if server is None else (lambda images: remote_image_embeddings(server, loaded.model, images))
            pool = pool_embeddings(loaded, POOL_SIZE, progress=ctx.progress, embed=embed)
            texts = (prompt_embeddings(loaded.model, prompts).cpu() if server is None
                     else remote_prompt_embeddings(server, loaded.model, prompts)).numpy()
            found = embedding_map(pool.embeddings[:MAP_POINTS].numpy(), texts, prompts, method, gap)
            return found, pool.data.images[:MAP_POINTS], pool.data.labels[:MAP_POINTS]

        work.remote = work
        label = "t-SNE map" if method == "tsne" else ""
        self.panel.submit(work, channel="map", on_result=self.show_map, label=label, cancel_running=True)

    def show_map(self, result: tuple[EmbeddingMap, np.ndarray, np.ndarray]) -> None:
        self.map, self.images, self.labels = result
        self.panel.clear_error()
        self._draw()
        self.plot.getPlotItem().autoRange()
        m = self.map
        if m.explained is not None:
            axes = f"PC 1 and PC 2 hold {m.explained[0]:.0%} and {m.explained[1]:.0%} of the variance"
        else:
            axes = "t-SNE keeps neighbours close; distances between clusters mean little"
        self.info.setText(f"{len(m.image_xy)} data-set images and {len(m.prompts)} prompts ({axes}).")

    def _draw(self) -> None:
        """Everything on the plot for the current map (the thumbnails only when asked for)."""
        for item in self.texts + self.thumbs:
            self.plot.removeItem(item)
        self.texts, self.thumbs = [], []
        self._draw_points()
        m = self.map
        self.prompt_points.setData(pos=m.prompt_xy if m is not None else np.zeros((0, 2)))
        for (x, y), names in label_groups(m.prompt_xy, m.prompts) if m is not None else ():
            text = pg.TextItem("\n".join(names), color="#ffffff", anchor=(0, 1), fill=pg.mkBrush(0, 0, 0, 150))
            text.setPos(x, y)
            text.setZValue(21)
            self.plot.addItem(text)
            self.texts.append(text)
        self._draw_thumbnails()

    def _draw_points(self) -> None:
        """The images as points, one scatter item (and legend entry) per value of the colouring attribute."""
        for item in self.groups:
            self.plot.removeItem(item)
        self.groups = []
        self.legend.clear()
        if self.map is None:
            return
        attribute = self.colour_box.currentText()
        values = ATTRIBUTE_VALUES[attribute]
        palette = label_palette(attribute, len(values))
        column = self.labels[:, ATTRIBUTES.index(attribute)]
        for v, name in enumerate(values):
            group = pg.ScatterPlotItem(pos=self.map.image_xy[column == v], size=8, pen=pg.mkPen(None),
                                       brush=pg.mkBrush(*palette[v], 220))
            self.plot.addItem(group)
            self.groups.append(group)
            self.legend.addItem(group, name)

    def _draw_thumbnails(self) -> None:
        """The first images as thumbnails at their points: made once per map, then only shown or hidden."""
        on = self.thumbs_box.isChecked() and self.map is not None
        if on and not self.thumbs:
            xy = self.map.image_xy
            side = (float(np.ptp(xy, axis=0).max()) or 1.0) / 28
            for (x, y), image in zip(xy[:THUMBNAILS], self.images[:THUMBNAILS]):
                thumb = pg.ImageItem(np.ascontiguousarray(image[::-1]), levels=(0, 255))  # y points up here
                thumb.setRect(QRectF(float(x) - side / 2, float(y) - side / 2, side, side))
                thumb.setZValue(10)
                self.plot.addItem(thumb)
                self.thumbs.append(thumb)
        for thumb in self.thumbs:
            thumb.setVisible(on)
