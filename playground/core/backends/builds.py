"""Building a network's ONNX Runtime session in the background, once per checkpoint and cache folder.

A build loads the cached graph (or exports one), opens its sessions and checks them against
eager torch on fixed inputs, one batch for each kind of session (1 and 2: the fixed-batch
ones; 3: the dynamic axis): the largest absolute difference must be at most `TOLERANCE`. Anything that goes wrong (the
export, a cached file that does not load, a mismatch) ends the build as failed with one
line saying why; the caller then keeps running torch. A freshly exported graph is written
to the cache only once it passed the check. A cached file that fails to load is removed,
so the next process exports it again.

Builds run in a daemon thread on a private copy of the network, so the caller's model
keeps sampling in eager torch meanwhile; `Build.wait` blocks until one is done.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import torch
from torch import nn

from .cache import cache_dir, cache_key, weights_digest, write_atomically
from .onnx_runtime import OPSET, OnnxRunner, Signature, example_inputs, export_onnx, runtime_version, signature_of

TOLERANCE = 1e-4  # the largest |onnx - torch| allowed on the fixed inputs
CHECK_BATCHES = (1, 2, 3)  # the fixed-batch sessions (onnx_runtime.STATIC_BATCHES) and a dynamic one


class BuildFailed(Exception):
    """A build could not give a session that matches torch (the message is the one line a user sees)."""


class Build:
    """One network's ONNX session being built (`state`: "building", "ready" or "failed")."""

    def __init__(self, model: nn.Module, signature: Signature, path: Path):
        self.signature = signature
        self.path = path
        self.state = "building"
        self.reason: str | None = None     # why it failed, one line
        self.runner: OnnxRunner | None = None
        self.from_cache = path.is_file()   # an export was on disk when the build started
        self.exported = False              # True when this build exported (False: the cached file was used)
        self.max_difference: float | None = None
        self.threads = torch.get_num_threads()  # the check runs the session the caller will use first
        self._model = copy.deepcopy(model).to("cpu").eval()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"onnx-build-{path.stem[:8]}", daemon=True)

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    def start(self) -> "Build":
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the build is done (True) or `timeout` seconds passed (False)."""
        return self._done.wait(timeout)

    def _run(self) -> None:
        try:
            self.runner = self._build()
            self.state = "ready"
        except BuildFailed as exc:
            self.reason, self.state = str(exc), "failed"
        except Exception as exc:  # noqa: BLE001 - any failure means: keep using torch, and say why
            self.reason, self.state = f"the ONNX build failed ({_short(exc)})", "failed"
        finally:
            self._model = None  # the private copy is not needed any more
            self._done.set()

    def _build(self) -> OnnxRunner:
        cached = self.path.is_file()
        if cached:
            graph = self.path.read_bytes()
        else:
            try:
                graph = export_onnx(self._model, self.signature)
            except Exception as exc:  # noqa: BLE001
                raise BuildFailed(f"the ONNX export failed ({_short(exc)})") from None
            self.exported = True
        runner = OnnxRunner(graph, self.signature)
        try:
            runner.session(self.threads)
        except Exception as exc:  # noqa: BLE001
            if cached:
                self.path.unlink(missing_ok=True)
                raise BuildFailed(f"the cached ONNX file {self.path} could not be loaded ({_short(exc)}); "
                                  f"removed, it is exported again next time") from None
            raise BuildFailed(f"ONNX Runtime could not load the exported graph ({_short(exc)})") from None
        self.max_difference = self._check(runner)
        if not self.max_difference <= TOLERANCE:
            raise BuildFailed(f"ONNX Runtime's output differs from torch's by {self.max_difference:.2g} on the "
                              f"check inputs (at most {TOLERANCE:g} allowed)")
        if not cached:
            write_atomically(self.path, graph)
        return runner

    def _check(self, runner: OnnxRunner) -> float:
        """The largest |onnx - torch| over the fixed inputs of every check batch."""
        worst = 0.0
        for batch in CHECK_BATCHES:
            inputs = example_inputs(self.signature, batch, seed=batch)
            with torch.inference_mode():
                x, t, *cond = inputs
                expected = self._model(x, t, cond=cond[0]) if cond else self._model(x, t)
            got = runner.run(*inputs, threads=self.threads)
            if got.shape != expected.shape:
                raise BuildFailed(f"ONNX Runtime's output has shape {tuple(got.shape)}, torch's {tuple(expected.shape)}")
            worst = max(worst, float((got - expected.float()).abs().max()))
        return worst


_BUILDS: dict[Path, Build] = {}
_LOCK = threading.Lock()


def build_for(model: nn.Module) -> Build | None:
    """The build of this network's session (started now, or the one already running or done in this
    process); None for a network without an exported form (`signature_of`)."""
    signature = signature_of(model)
    if signature is None:
        return None
    key = cache_key(weights_digest(model), network=type(model).__qualname__, signature=signature,
                    torch=torch.__version__, runtime=runtime_version(), opset=OPSET)
    path = cache_dir() / f"{key}.onnx"
    with _LOCK:
        build = _BUILDS.get(path)
        if build is None:
            build = _BUILDS[path] = Build(model, signature, path).start()
        return build


def pending_builds() -> list[Build]:
    with _LOCK:
        return [build for build in _BUILDS.values() if build.state == "building"]


def forget_builds() -> None:
    """Drop every build this process knows of (the next `build_for` starts afresh: tests, benchmarks)."""
    for build in pending_builds():
        build.wait()
    with _LOCK:
        _BUILDS.clear()


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
