"""File > Connect to server…: drive the models of a `playground serve` on another machine.

The dialog connects the app's `ServerLink` (gui/remote_worker.py) to an address, lists the
server's models, says which of them this computer also has (the same weights, by SHA-256), and
opens such a one here (one only on the server is copied here first, into the user's cache): its Diffusion steps then run on the server, streamed back step by step,
and run here again if the server goes away. Connecting is a request of its own thread: the
window never waits on the network.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from ..core.assets import list_shipped
from ..core.disk_cache import user_cache_dir
from ..core.serving.catalog import fingerprint
from ..core.serving.client import Connection, ServerClient
from .remote_worker import RemoteWorker, ServerLink, server_link  # noqa: F401 (RemoteWorker: the window imports it here)
from .window_state import window_settings

if TYPE_CHECKING:
    from .main_window import MainWindow

DEFAULT_ADDRESS = "127.0.0.1:8000"
NOTE = ("On the machine with the GPU: <code>playground serve --port 8000</code> (add <code>--checkpoints DIR</code> "
        "for your own). From here, reach it through <code>ssh -L 8000:127.0.0.1:8000 that-machine</code>. "
        "While connected, the Diffusion tab's steps of a model the server also has run there; if the "
        "connection is lost, they run on this computer again.")
COLUMNS = ("Model", "Family", "Trained steps", "On this computer")


def local_checkpoints(window: "MainWindow | None") -> dict[str, Path]:
    """SHA-256 -> weights file, for the checkpoints this app knows (shipped, listed, open)."""
    paths = [c.path for c in list_shipped()]
    if window is not None:
        paths += list(getattr(window, "extra_checkpoints", []))
        paths += list(user_cache_dir("server-models").glob("*/model.safetensors"))  # copied from a server before
        paths += [p.loaded.path for p in getattr(window, "panels", []) if getattr(p, "loaded", None) is not None]
    found: dict[str, Path] = {}
    for path in paths:
        try:
            found.setdefault(fingerprint(path), Path(path))
        except OSError:
            continue
    return found


def describe_local(path: Path | None) -> str:
    if path is None:
        return "only on the server"
    return f"yes: {path.parent.name if path.name == 'model.safetensors' else path.name}"


class ConnectDialog(QDialog):
    """`open_requested(path)`: open this local checkpoint (the server has the same weights)."""

    open_requested = Signal(str)
    _answered = Signal(object, object, str)  # connection or None, local checkpoints, error message
    _copied = Signal(str, str)  # the copied weights file (or ""), error message

    def __init__(self, link: ServerLink | None = None, window: "MainWindow | None" = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Connect to a model server")
        self.link = link if link is not None else server_link()
        self.window_ = window
        self.local: dict[str, Path] = {}
        self.address = QLineEdit(str(window_settings().value("server/address", DEFAULT_ADDRESS)))
        self.address.setToolTip("HOST:PORT of a running `playground serve`")
        self.connect_button = QPushButton("Connect")
        self.disconnect_button = QPushButton("Disconnect")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.open_button = QPushButton("Open here, run there")
        self.open_button.setToolTip("Open this computer's copy of the selected model; its steps run on the server")
        close = QPushButton("Close")
        note = QLabel(NOTE)
        note.setWordWrap(True)
        note.setTextFormat(Qt.TextFormat.RichText)
        top = QHBoxLayout()
        for w in (QLabel("Server"), self.address, self.connect_button, self.disconnect_button):
            top.addWidget(w)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.open_button)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)
        layout.addLayout(bottom)
        self.resize(720, 420)
        self.connect_button.clicked.connect(self.connect_to_server)
        self.address.returnPressed.connect(self.connect_to_server)
        self.disconnect_button.clicked.connect(self.link.disconnect)
        self.open_button.clicked.connect(self.open_selected)
        self.table.itemDoubleClicked.connect(lambda _item: self.open_selected())
        self.table.itemSelectionChanged.connect(self._update_buttons)
        close.clicked.connect(self.accept)
        self._answered.connect(self._on_answer)
        self._copied.connect(self._on_copied)
        self.link.changed.connect(self.refresh)
        self.link.lost.connect(self.status.setText)
        self.refresh()

    # --- connecting, in a thread of its own --------------------------------------------------------

    def connect_to_server(self) -> None:
        address = self.address.text().strip()
        self.connect_button.setEnabled(False)
        self.status.setText(f"connecting to {address}…")
        window = self.window_

        def ask() -> None:
            try:
                connection = Connection(ServerClient(address))
                self._answered.emit(connection, local_checkpoints(window), "")
            except (ValueError, OSError) as exc:  # a bad address, ServerLost
                self._answered.emit(None, {}, str(exc))

        threading.Thread(target=ask, name="connect-to-server", daemon=True).start()

    def _on_answer(self, connection: Connection | None, local: dict, error: str) -> None:
        self.connect_button.setEnabled(True)
        if connection is None:
            self.status.setText(f"Cannot connect: {error}")
            return
        window_settings().setValue("server/address", connection.client.address)
        self.local = local
        self.link.connection = connection
        self.link.changed.emit()

    # --- the list ----------------------------------------------------------------------------------

    def refresh(self) -> None:
        connection = self.link.connection
        self.status.setText(self.link.describe())
        models = connection.models if connection is not None else []
        kept = {item.row() for item in self.table.selectedItems()}  # the user's choice survives a refresh
        self.table.setRowCount(len(models))
        for row, model in enumerate(models):
            here = self.local.get(model["sha256"])
            cells = (model["id"], model["family"], str(model.get("steps", "")), describe_local(here))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, str(here) if here is not None else None)
                if here is None:
                    item.setForeground(Qt.GlobalColor.gray)
                self.table.setItem(row, column, item)
        self.disconnect_button.setEnabled(connection is not None)
        if len(kept) == 1 and next(iter(kept)) < len(models):
            self.table.selectRow(next(iter(kept)))
        self._update_buttons()

    def selected(self) -> tuple[dict | None, str | None]:
        """The selected server model and the path of this computer's copy (None: only on the server)."""
        rows = {item.row() for item in self.table.selectedItems()}
        connection = self.link.connection
        if len(rows) != 1 or connection is None:
            return None, None
        row = rows.pop()
        return connection.models[row], self.table.item(row, 0).data(Qt.ItemDataRole.UserRole)

    def selected_local(self) -> str | None:
        return self.selected()[1]

    def _update_buttons(self) -> None:
        model, local = self.selected()
        self.open_button.setEnabled(model is not None)
        self.open_button.setText("Open here, run there" if local is not None or model is None else "Copy here and open")

    def open_selected(self) -> None:
        """Open this computer's copy; a model only on the server is copied first (in a thread: the
        app needs its config and, should the server go, its weights)."""
        model, path = self.selected()
        if path is not None:
            self.open_requested.emit(path)
            return
        connection = self.link.connection
        if model is None or connection is None:
            return
        self.open_button.setEnabled(False)
        self.status.setText(f"copying {model['id']} from {connection.client.address}…")

        def copy() -> None:
            try:
                weights = connection.client.download(model, user_cache_dir("server-models"))
            except (ValueError, OSError) as exc:
                self._copied.emit("", str(exc))
                return
            self._copied.emit(str(weights), "")

        threading.Thread(target=copy, name="copy-checkpoint", daemon=True).start()

    def _on_copied(self, path: str, error: str) -> None:
        self._update_buttons()
        if not path:
            self.status.setText(f"Cannot copy: {error}")
            return
        self.local[fingerprint(path)] = Path(path)
        self.refresh()
        self.open_requested.emit(path)


class ServerMenu(QObject):
    """The window's "Connect to server…" action, its dialog, and the status line on connecting (a child of
    the window, so the app-wide link forgets it with the window)."""

    def __init__(self, window: "MainWindow"):
        super().__init__(window)
        self.window_, self.link, self.dialog = window, server_link(), None
        menu = window.menu("File")
        self.action = QAction("Connect to &server…", window)
        self.action.setToolTip("Run the models on a `playground serve` on another machine (a GPU box)")
        menu.insertAction(next((a for a in menu.actions() if a.isSeparator()), None), self.action)  # before Quit
        self.action.triggered.connect(self.show_dialog)
        self.link.changed.connect(self.on_changed)

    def show_dialog(self) -> None:
        if self.dialog is None:
            self.dialog = ConnectDialog(self.link, self.window_, self.window_)
            self.dialog.open_requested.connect(self.window_.open_checkpoint)
        self.dialog.show()
        self.dialog.raise_()

    def on_changed(self) -> None:
        """Connected, disconnected (a lost server's own line follows, from the worker that found it)."""
        self.window_.show_message(self.link.describe())


def install(window: "MainWindow") -> ServerMenu:
    """Put "Connect to server…" in the window's File menu (before its Quit)."""
    return ServerMenu(window)
