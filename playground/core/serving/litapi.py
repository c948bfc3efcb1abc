"""The LitServe API of `server` (a module of its own: LitServe's worker process unpickles it by name)."""

from __future__ import annotations

import importlib
import os
from typing import Iterator

import litserve as ls

from .catalog import Entry
from .jobs import ModelCache, run_job
from .wire import check_job_id, message, unpack_arrays


class JobsAPI(ls.LitAPI):
    """POST /jobs: streams one job's messages; its Stop arrives as a flag file named after the job."""

    def __init__(self, entries: list[Entry], cancel_dir: str, job_modules: tuple[str, ...] = ()) -> None:
        super().__init__(api_path="/jobs", stream=True)
        self.entries = {e.id: e for e in entries}
        self.cancel_dir = cancel_dir
        self.job_modules = tuple(job_modules)

    def setup(self, device: str) -> None:
        for name in self.job_modules:  # they register their jobs in JOBS
            importlib.import_module(name)
        self.cache = ModelCache(device)

    def decode_request(self, request):  # no annotation: LitServe reads the JSON body then
        return request if isinstance(request, dict) else {}

    def predict(self, request: dict) -> Iterator[dict]:
        try:
            job_id = check_job_id(request.get("job_id", ""))
            entry = self.entries.get(request.get("model"))
            if entry is None:
                raise ValueError(f"this server has no model {request.get('model')!r}")
            args, arrays = request.get("args") or {}, unpack_arrays(request.get("arrays"))
            if not isinstance(args, dict):
                raise ValueError("a job's args are a JSON object")
        except ValueError as exc:
            yield message("error", message=str(exc))
            return
        flag = os.path.join(self.cancel_dir, job_id)
        try:
            yield from run_job(str(request.get("job")), lambda: self.cache.get(entry.path), args, arrays,
                               lambda: os.path.exists(flag))
        finally:
            if os.path.exists(flag):
                os.remove(flag)

    def encode_response(self, outputs: Iterator[dict]) -> Iterator[dict]:
        yield from outputs
