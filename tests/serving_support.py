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


def listening_sockets(group: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket listening in the processes of process group `group` (Linux /proc)."""
    inodes: set[str] = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getpgid(int(proc.name)) != group:
                continue
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = set()
    for table in ("tcp", "tcp6"):
        lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address, port = local.split(":")
            if len(address) == 8:
                address = socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1])
            else:
                words = [bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, 32, 8)]
                address = socket.inet_ntop(socket.AF_INET6, b"".join(words))
            found.add((address, int(port, 16)))
    return found


def connect(served: "Served"):
    """A client's connection to a test server."""
    from playground.core.serving.client import Connection, ServerClient

    return Connection(ServerClient(served.address))


def opened(served: "Served", family: str):
    """The app's copy of the server's `family` model, remembered by its weights (as the window does)."""
    from playground.core.checkpoints import load_checkpoint
    from playground.core.serving.client import remember

    loaded = load_checkpoint(served.folders[family])
    remember(loaded.model, loaded.path)
    return loaded.model
