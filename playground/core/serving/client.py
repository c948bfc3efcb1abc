"""The app's side of a model server: list its models, stream a job, cancel it (stdlib HTTP, no Qt).

`ServerClient.stream` yields a job's messages as they arrive; while it waits it watches a
`stopping()` callable and, once it turns true, asks the server to cancel the job (the server
stops after the step it is on and ends the stream). A server that cannot be reached, or a
stream cut before its "end" message, raises `ServerLost` with one line to show; an error the
job reports raises `RemoteError` (a ValueError: bad input, as a local run would raise).

`Connection` is a client plus which of the app's open models the server has: a model loaded
from a checkpoint (`remember`, called by the app's loads) is served when the server lists the same weights (SHA-256).
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import uuid
import weakref
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import numpy as np

from .catalog import fingerprint
from .wire import decode_line, pack_arrays

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 300.0   # the longest one step of a job may take on the server
STOP_POLL_S = 0.05       # how often a stream looks at `stopping()` while it waits


class ServerLost(ConnectionError):
    """The server cannot be reached or the connection broke; str() is one line for the status bar."""


class RemoteError(ValueError):
    """The job failed on the server (its one-line message)."""


def parse_address(address: str) -> tuple[str, int]:
    """"host:port" or "http://host:port" -> (host, port); ValueError with a message otherwise."""
    text = address.strip()
    parts = urlsplit(text if "//" in text else f"http://{text}")
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"{address!r}: a server address is HOST:PORT, e.g. 127.0.0.1:8000")
    try:
        port = parts.port or 8000
    except ValueError:
        raise ValueError(f"{address!r}: the port must be a number from 1 to 65535") from None
    return parts.hostname, port


class ServerClient:
    def __init__(self, address: str, *, connect_timeout: float = CONNECT_TIMEOUT_S, read_timeout: float = READ_TIMEOUT_S):
        self.host, self.port = parse_address(address)
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _lost(self, exc: BaseException) -> ServerLost:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc) or type(exc).__name__)
        return ServerLost(f"lost the model server at {self.address} ({reason})")

    def _request(self, method: str, path: str, body: Any = None) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.connect_timeout)
        try:
            conn.connect()
            conn.sock.settimeout(self.read_timeout)
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise self._lost(exc) from None
        if response.status != 200:
            detail = response.read(2000).decode("utf-8", "replace")
            conn.close()
            raise ServerLost(f"the model server at {self.address} answered {response.status} to {path}: {detail[:200]}")
        return response

    def _json(self, method: str, path: str, body: Any = None) -> Any:
        response = self._request(method, path, body)
        try:
            return json.loads(response.read())
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise self._lost(exc) from None
        finally:
            response.close()

    def info(self) -> dict:
        """The server's /models: {"models": [...], "jobs": [...], "device": ...}."""
        info = self._json("GET", "/models")
        if not isinstance(info, dict) or "models" not in info:
            raise ServerLost(f"{self.address} is not a playground model server")
        return info

    def models(self) -> list[dict]:
        return self.info()["models"]

    def download(self, model: dict, folder: str | Path) -> Path:
        """Copy a served checkpoint (an entry of `models()`) into `folder`/ID-SHA/ unless it is there;
        checks its SHA-256; returns the local weights file (model.safetensors beside model.json)."""
        if not re.fullmatch(r"[0-9a-f]{64}", str(model.get("sha256", ""))):
            raise ServerLost(f"{self.address} listed a model without a SHA-256")
        name = re.sub(r"[^A-Za-z0-9._-]", "_", str(model.get("id", "model")))[:60].lstrip(".") or "model"
        target = Path(folder) / f"{name}-{model['sha256'][:12]}"
        weights = target / "model.safetensors"
        if weights.is_file() and fingerprint(weights) == model["sha256"]:
            return weights
        target.mkdir(parents=True, exist_ok=True)
        for part, path in (("json", target / "model.json"), ("weights", weights)):
            response = self._request("GET", f"/checkpoint/{model['id']}/{part}")
            partial = path.with_suffix(path.suffix + ".part")
            try:
                with open(partial, "wb") as out:
                    for block in iter(lambda: response.read(1 << 20), b""):
                        out.write(block)
            except (OSError, http.client.HTTPException) as exc:
                raise self._lost(exc) from None
            finally:
                response.close()
            partial.replace(path)
        if fingerprint(weights) != model["sha256"]:
            weights.unlink()
            raise ServerLost(f"the copy of {model['id']} from {self.address} is damaged (its SHA-256 differs)")
        return weights

    def cancel(self, job_id: str) -> None:
        self._json("POST", "/cancel", {"job_id": job_id})

    def stream(self, job: str, model: str, args: dict, arrays: dict[str, np.ndarray] | None = None,
               stopping: Callable[[], bool] = lambda: False) -> Iterator[dict]:
        """Run `job` on the server's `model`, yielding its messages (arrays unpacked) up to its end."""
        job_id = uuid.uuid4().hex
        body = {"job": job, "model": model, "job_id": job_id, "args": args, "arrays": pack_arrays(arrays)}
        response = self._request("POST", "/jobs", body)
        finished = threading.Event()
        cancelled = threading.Event()

        def watch() -> None:  # Stop while the stream waits for the server's next step
            while not finished.wait(STOP_POLL_S):
                if stopping():
                    self._cancel_quietly(job_id, cancelled)
                    return

        watcher = threading.Thread(target=watch, name="serve-stop-watch", daemon=True)
        watcher.start()
        ended = False
        try:
            while True:
                try:
                    line = response.readline()
                except (OSError, http.client.HTTPException) as exc:
                    raise self._lost(exc) from None
                if not line:
                    raise ServerLost(f"lost the model server at {self.address} (the stream of {job} was cut)")
                if not line.strip():
                    continue
                msg = decode_line(line)
                if msg["kind"] == "error":
                    ended = True
                    raise RemoteError(msg.get("message", "the server's job failed"))
                if msg["kind"] == "end":
                    ended = True
                    return
                yield msg
        finally:
            finished.set()
            if not ended:  # closed early (Stop, a newer run) or cut: the server must not go on
                self._cancel_quietly(job_id, cancelled)
            response.close()

    def _cancel_quietly(self, job_id: str, cancelled: threading.Event) -> None:
        if cancelled.is_set():
            return
        cancelled.set()
        try:
            self.cancel(job_id)
        except ServerLost:
            pass  # nothing to stop on a server that is gone


_loaded_from: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its weights file here


def remember(model: Any, weights: str | Path) -> None:
    """`model` was loaded from `weights` (the app's load jobs call this), so a server can be asked for it."""
    try:
        _loaded_from[model] = Path(weights)
    except TypeError:
        pass


class Connection:
    """A server and the app's models it also has (matched by their weights' SHA-256)."""

    def __init__(self, client: ServerClient):
        self.client = client
        self.info = client.info()
        self.by_sha = {m["sha256"]: m["id"] for m in self.info["models"]}

    @property
    def models(self) -> list[dict]:
        return self.info["models"]

    def model_id(self, model: Any) -> str | None:
        """The server's id for the app's `model` (the same weights), or None: it runs here then."""
        path = _loaded_from.get(model)
        if path is None or not path.is_file():
            return None
        return self.by_sha.get(fingerprint(path))
