"""The worker seam, remote: a `ModelWorker` whose jobs run on a model server when the app is connected.

Every panel's worker is a `RemoteWorker`. Not connected, it is a `ModelWorker`. Connected
(File > Connect to server…, `ServerLink`), a submitted work function that has a `remote` twin
(`fn.remote(ctx, connection)`, e.g. the steps view's `trace_job`) runs that instead, in the
same worker thread with the same `JobContext`: its progress and previews reach the panel as the
same signals, coalescing and Stop work unchanged, and the result is what the local function
returns. Work without a twin, or for a model the server lacks (`NotServed`), runs here.

A lost server is one line in the status bar ("lost the model server at …; running on this
computer"), the link drops the connection, and the job runs again here: the app falls back to
its local models. Every checkpoint a worker loads is remembered (`core.serving.client.remember`),
so a server with the same weights can run it.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from ..core.checkpoints import LoadedModel
from ..core.serving.client import Connection, ServerClient, ServerLost, remember
from ..core.serving.remote import NotServed
from .worker import JobContext, ModelWorker


class ServerLink(QObject):
    """The app's one connection to a model server (or none). `changed` after connect/disconnect;
    `lost(message)` when a job found the server gone (emitted from a worker thread: queued)."""

    changed = Signal()
    lost = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.connection: Connection | None = None

    @property
    def connected(self) -> bool:
        return self.connection is not None

    def connect_to(self, address: str) -> Connection:
        """Connect (a short request: the server's list); ValueError on a bad address, ServerLost if unreachable."""
        connection = Connection(ServerClient(address))
        self.connection = connection
        self.changed.emit()
        return connection

    def disconnect(self) -> None:
        if self.connection is not None:
            self.connection = None
            self.changed.emit()

    def drop(self, connection: Connection, message: str) -> None:
        """`connection` failed: forget it (unless another replaced it meanwhile) and say so."""
        if self.connection is connection:
            self.connection = None
            self.changed.emit()
            self.lost.emit(message)

    def describe(self) -> str:
        if self.connection is None:
            return "models run on this computer"
        models = self.connection.models
        return f"connected to {self.connection.client.address} ({len(models)} models, {self.connection.info.get('device', '?')})"


_link: ServerLink | None = None


def server_link() -> ServerLink:
    """The app's `ServerLink` (one per process, made on first use in the GUI thread)."""
    global _link
    if _link is None:
        _link = ServerLink()
    return _link


class RemoteWorker(ModelWorker):
    """A `ModelWorker` that sends work with a remote twin to the connected server (see the module)."""

    def __init__(self, name: str = "model-worker", parent: QObject | None = None, link: ServerLink | None = None):
        super().__init__(name, parent)
        self.link = link if link is not None else server_link()

    def submit(self, fn: Callable[[JobContext], Any], **kwargs: Any):
        return super().submit(self.route(fn), **kwargs)

    def route(self, fn: Callable[[JobContext], Any]) -> Callable[[JobContext], Any]:
        remote = getattr(fn, "remote", None)
        link = self.link

        def work(ctx: JobContext) -> Any:
            connection = link.connection
            if remote is not None and connection is not None:
                try:
                    return remote(ctx, connection)
                except NotServed:
                    pass
                except ServerLost as exc:
                    message = f"{exc}; running on this computer"
                    link.drop(connection, message)
                    self.error.emit(message)
                    ctx.check()  # cancelled meanwhile: nothing to run here
            result = fn(ctx)
            if isinstance(result, LoadedModel):  # a load: a server with these weights can run it
                remember(result.model, result.path)
            return result

        return work
