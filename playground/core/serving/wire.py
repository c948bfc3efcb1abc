"""How arrays and messages travel between the app and a model server.

Arrays go as safetensors bytes (base64 inside a JSON line): numbers and shapes only, so a
message can never run code. One message is one JSON object on one line:

- {"kind": "progress", "done": i, "total": n, "meta": {...}, "arrays": "<base64>"}
- {"kind": "result", "meta": {...}, "arrays": "<base64>"}
- {"kind": "error", "message": "one line"}
- {"kind": "stopped", "meta": {...}}  (the job saw its cancel flag and ended early)
- {"kind": "end"}  (the job is over: a stream that ends without it was cut)
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import numpy as np
from safetensors.numpy import load as _load, save as _save

JOB_ID = re.compile(r"^[0-9a-f]{8,64}$")  # what a client may name a job (the cancel flag's file name)


def pack_arrays(arrays: dict[str, np.ndarray] | None) -> str:
    """NumPy arrays -> base64 safetensors text ("" for none)."""
    if not arrays:
        return ""
    return base64.b64encode(_save({k: np.ascontiguousarray(v) for k, v in arrays.items()})).decode("ascii")


def unpack_arrays(text: str | None) -> dict[str, np.ndarray]:
    """The inverse of `pack_arrays`; ValueError on anything that is not safetensors."""
    if not text:
        return {}
    try:
        return dict(_load(base64.b64decode(text.encode("ascii"), validate=True)))
    except Exception as exc:  # binascii.Error, SafetensorError: both mean "not our arrays"
        raise ValueError(f"not a safetensors payload ({exc})") from None


def message(kind: str, *, arrays: dict[str, np.ndarray] | None = None, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, **fields}
    if arrays:
        out["arrays"] = pack_arrays(arrays)
    return out


def encode_line(msg: dict[str, Any]) -> bytes:
    return (json.dumps(msg) + "\n").encode("utf-8")


def decode_line(line: bytes | str) -> dict[str, Any]:
    """One JSON line -> a message with its arrays unpacked into msg["arrays"] (a dict, maybe empty)."""
    msg = json.loads(line)
    if not isinstance(msg, dict) or "kind" not in msg:
        raise ValueError("not a server message")
    msg["arrays"] = unpack_arrays(msg.get("arrays"))
    return msg


def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not JOB_ID.match(job_id):
        raise ValueError("a job id is 8 to 64 lowercase hex digits")
    return job_id
