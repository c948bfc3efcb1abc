"""The model server: one LitServe API streaming the named jobs, and two plain routes.

- POST /jobs  {"job", "model", "job_id", "args", "arrays"} -> a stream of JSON lines (`wire`)
- POST /cancel {"job_id"} -> sets that job's cancel flag (the job stops after its current step)
- GET /models -> the checkpoints it serves (`catalog.Entry.public`) and the jobs it runs
- GET /checkpoint/ID/json|weights -> a served checkpoint's files (for an app without a copy)
- GET /health -> "ok" once its inference worker is ready (LitServe's)

LitServe runs the jobs in an inference worker process and the HTTP server in this one; the
cancel flags are files in a private temporary folder both can see (a job looks at its flag
after every step). LitServe (`pip install 'playground[serve]'`) is imported only here.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .catalog import Entry
from .jobs import JOBS
from .wire import check_job_id

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
SERVER_HOSTS = ("127.0.0.1", "0.0.0.0", "::")  # what LitServe binds to


def check_host(host: str, allow_remote: bool) -> str:
    """The address to listen on: loopback unless the user explicitly allows remote clients."""
    if host in LOCAL_HOSTS:
        return "127.0.0.1"
    if host not in SERVER_HOSTS:
        raise ValueError(f"--host {host}: the server listens on 127.0.0.1, or on every address (0.0.0.0 or ::) "
                         "with --allow-remote")
    if not allow_remote:
        raise ValueError(f"--host {host} would let any machine that reaches this one run models here; "
                         "add --allow-remote to mean it (there is no password: use it on a trusted network, "
                         "or keep 127.0.0.1 and an SSH tunnel)")
    return host


def require_litserve():
    try:
        import litserve
    except ImportError:
        raise ValueError("serving needs LitServe: pip install 'playground[serve]' (or: pip install litserve)") from None
    return litserve


def make_api(entries: list[Entry], cancel_dir: str | Path, job_modules: tuple[str, ...] = ()):
    require_litserve()
    from .litapi import JobsAPI

    return JobsAPI(entries, str(cancel_dir), job_modules)


def add_routes(app, entries: list[Entry], cancel_dir: str | Path, device: str) -> None:
    from fastapi import Body, HTTPException

    listing = {"models": [e.public() for e in entries], "jobs": sorted(JOBS), "device": device, "protocol": 1}

    @app.get("/models")
    def models() -> dict:
        return listing

    by_id = {e.id: e for e in entries}

    @app.get("/checkpoint/{model_id}/{part}")
    def checkpoint(model_id: str, part: str):
        """A served checkpoint's files ("json", "weights"), for an app that has no copy (only those listed)."""
        from fastapi.responses import FileResponse

        entry = by_id.get(model_id)
        if entry is None or part not in ("json", "weights"):
            raise HTTPException(status_code=404, detail=f"no {part} of a model {model_id!r} here")
        weights = Path(entry.path)
        return FileResponse(weights if part == "weights" else weights.with_suffix(".json"))

    @app.post("/cancel")
    def cancel(body: dict = Body(...)) -> dict:
        try:
            job_id = check_job_id(body.get("job_id", ""))
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        Path(cancel_dir, job_id).touch()
        return {"cancelled": job_id}


def serve(entries: list[Entry], host: str, port: int, device: str = "cpu", log_level: str = "warning",
          job_modules: tuple[str, ...] = ()) -> None:
    """Serve `entries` on host:port until interrupted (blocks). `host` must have passed `check_host`;
    `job_modules` are imported in the inference worker for the jobs they register (the CLI's "sample")."""
    ls = require_litserve()
    cancel_dir = tempfile.mkdtemp(prefix="playground-serve-")
    try:
        accelerator = device.split(":")[0] if device.split(":")[0] in ("cpu", "cuda", "mps") else "auto"
        server = ls.LitServer(make_api(entries, cancel_dir, job_modules), accelerator=accelerator, devices=1,
                              workers_per_device=1, timeout=False, disable_openapi_url=True)
        add_routes(server.app, entries, cancel_dir, device)
        server.run(host=host, port=port, num_api_servers=1, api_server_worker_type="thread",
                   generate_client_file=False, log_level=log_level)
    finally:
        shutil.rmtree(cancel_dir, ignore_errors=True)
