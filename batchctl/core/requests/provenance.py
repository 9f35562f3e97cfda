"""What `prepare` remembers about a request file made from a CSV, so `results JOB --join` alone
can join the answers back to that CSV.

A small JSON record per request file, ``STATE_DIR/prepared/<sha256 of the request file>.json``
(0600): the CSV's absolute path and sha256, the prompt and id columns, the id prefix, and
whether prepare had to change any id (made valid or unique). A job's request file has the same
sha256 when it is submitted (stdin is spooled byte for byte), which is how a job finds it. A
record is written only for a CSV read from a file (stdin cannot be read again).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import orjson

FOLDER = "prepared"
_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _path(state_dir: Path, request_sha256: str) -> Path:
    return state_dir / FOLDER / f"{request_sha256}.json"


def remember(state_dir: Path, request_sha256: str, record: dict[str, Any]) -> None:
    """Write the record of a prepared request file (atomically, 0600)."""
    folder = state_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = _path(state_dir, request_sha256)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(orjson.dumps(record))
    os.replace(tmp, target)


def recall(state_dir: Path, request_sha256: str) -> dict[str, Any] | None:
    """The record of a prepared request file, or None (none written, or unreadable)."""
    try:
        data = orjson.loads(_path(state_dir, request_sha256).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("source"), str):
        return None
    return data
