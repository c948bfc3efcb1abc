"""A `playground train ... --live` child process, watched from the GUI thread without waiting on it.

QProcess delivers the child's output through the event loop, so reading it needs no
thread of ours; each complete stdout line becomes one `live_protocol` message. The
child's stderr is kept (its last lines) to explain an exit that sent no message, such as
a kill or a crash in native code.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from ..core.training.live_child import live_command
from ..core.training.live_protocol import decode

PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds `playground/`
STDERR_LINES_KEPT = 20


def training_threads() -> int:
    """Torch threads for the training child: every core but one, which the GUI keeps."""
    return max(1, (os.cpu_count() or 2) - 1)


class TrainingProcess(QObject):
    """Start, command and end one training child; `message` carries what it reports."""

    message = Signal(object)  # a live_protocol message: RunStarted, LiveUpdate, RunFinished, RunFailed
    exited = Signal(int, str)  # exit code (-1: it never started or crashed), the last lines of its stderr

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._process = QProcess(self)
        self._process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self._process.readyReadStandardOutput.connect(self._read_stdout)
        self._process.readyReadStandardError.connect(self._read_stderr)
        self._process.finished.connect(self._on_finished)
        self._process.errorOccurred.connect(self._on_error)
        self._partial = b""
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES_KEPT)
        self._exit_reported = False

    @property
    def running(self) -> bool:
        return self._process.state() != QProcess.ProcessState.NotRunning

    def start(self, train_arguments: list[str], *, threads: int, live_every: int, preview_every: int,
              processes: int = 1) -> None:
        """Run `playground train TRAIN_ARGUMENTS --live` with this interpreter, in the current folder
        (with `processes` > 1: that many data-parallel processes under torchrun, sharing `threads`)."""
        self._partial, self._exit_reported = b"", False
        self._stderr.clear()
        environment = QProcessEnvironment.systemEnvironment()
        path = environment.value("PYTHONPATH", "")
        environment.insert("PYTHONPATH", os.pathsep.join(p for p in (str(PACKAGE_ROOT), path) if p))
        self._process.setProcessEnvironment(environment)
        self._process.setWorkingDirectory(os.getcwd())
        program, *arguments = live_command(train_arguments, threads=threads, live_every=live_every,
                                           preview_every=preview_every, processes=processes)
        self._process.start(program, arguments)

    def send(self, command: str) -> None:
        """`pause`, `resume` or `stop`: the child obeys between steps."""
        if self.running:
            self._process.write(f"{command}\n".encode())

    def shutdown(self, timeout_ms: int = 60_000) -> None:
        """Ask the child to stop (it saves the model so far) and wait for it; kill it if it hangs."""
        if not self.running:
            return
        self.send("stop")
        self._process.closeWriteChannel()
        if not self._process.waitForFinished(timeout_ms):
            self._process.kill()
            self._process.waitForFinished(5_000)

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    def _read_stdout(self) -> None:
        data = self._partial + bytes(self._process.readAllStandardOutput())
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            message = decode(line)
            if message is not None:
                self.message.emit(message)

    def _read_stderr(self) -> None:
        text = bytes(self._process.readAllStandardError()).decode("utf-8", "replace")
        self._stderr.extend(line for line in text.splitlines() if line.strip())

    def _on_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        self._report_exit(-1 if crashed else exit_code)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._stderr.append(f"could not start {sys.executable}: {self._process.errorString()}")
            self._report_exit(-1)

    def _report_exit(self, code: int) -> None:
        if not self._exit_reported:
            self._exit_reported = True
            self.exited.emit(code, self.stderr_tail())
