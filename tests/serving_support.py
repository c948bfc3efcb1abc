"""A real model server for tests: `playground serve` in a subprocess on 127.0.0.1 (a free port) over
tiny checkpoints (no shipped ones), killed with its LitServe worker at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    def __init__(self, process: subprocess.Popen, port: int, folders: dict[str, Path]):
        self.process, self.port, self.folders = process, port, folders
        self.address = f"127.0.0.1:{port}"

    def kill(self) -> None:
        """SIGKILL the server and its worker (its own process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def tiny_serving_checkpoints(root: Path) -> dict[str, Path]:
    from compare_models import save_tiny_family_checkpoints
    from latent_models import save_tiny_latent_checkpoints

    folders = save_tiny_family_checkpoints(root / "family")
    folders.update(save_tiny_latent_checkpoints(root / "latent"))
    return folders


@contextmanager
def run_server(root: Path, folders: dict[str, Path], checkpoints: Path | None = None) -> Iterator[Served]:
    """Serve the checkpoints under `checkpoints` (default: `root`)."""
    pytest.importorskip("litserve")
    empty_assets = root / "no-assets"
    empty_assets.mkdir(exist_ok=True)
    port = free_port()
    env = dict(os.environ, PLAYGROUND_ASSETS=str(empty_assets), OMP_NUM_THREADS="1")
    log = open(root / f"server-{port}.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "playground", "serve", "--port", str(port), "--device", "cpu",
                                "--checkpoints", str(checkpoints or root)], env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    served = Served(process, port, folders)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited: {(root / f'server-{port}.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://{served.address}/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in time")
            time.sleep(0.3)
        yield served
    finally:
        served.kill()
        log.close()
