"""Request lines and request files (the suite's one request factory), and reading what batchctl
wrote (CSV, JSON lines, a FIFO)."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

MODEL = "claude-haiku-4-5"
QUESTION = "Question number {i}: what is {i}+{i}?"


def request(
    custom_id: Any, text: str = "hello", *, model: Any = MODEL, max_tokens: Any = 32, **params: Any
) -> dict[str, Any]:
    """A native request line (one user message of ``text``); ``params`` adds or replaces fields
    of ``params`` (any value, valid or not)."""
    return {
        "custom_id": custom_id,
        "params": {
            "model": model,
            "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": text}],
            **params,
        },
    }


def requests_for(
    count: int, prefix: str = "req-", text: str = QUESTION, **params: Any
) -> list[dict[str, Any]]:
    """``count`` valid requests ``{prefix}0``, ``{prefix}1``..., each asking ``text`` formatted
    with its ``i`` and ``id``; ``params`` as for ``request`` (max_tokens 256 unless given)."""
    params.setdefault("max_tokens", 256)
    return [
        request(f"{prefix}{i}", text.format(i=i, id=f"{prefix}{i}"), **params)
        for i in range(count)
    ]


def padded(size: int) -> str:
    """A ``text`` for ``requests_for``: the request's id, then ``size`` characters of filler."""
    return "{id}: " + ("lorem ipsum dolor sit amet " * (size // 27 + 1))[:size]


def write_jsonl(path: Path, objects: Iterable[Any]) -> Path:
    """Write one JSON line per object (a request file); returns ``path``."""
    path.write_bytes(b"".join(orjson.dumps(obj) + b"\n" for obj in objects))
    return path


def write_params(path: Path, *params: dict[str, Any], prefix: str = "r") -> Path:
    """A request file of one request per ``params``, custom_ids ``{prefix}0``, ``{prefix}1``..."""
    return write_jsonl(path, ({"custom_id": f"{prefix}{i}", "params": p} for i, p in enumerate(params)))


def write_requests(
    path: Path, count: int, prefix: str = "r", text: str = "q {id}", **params: Any
) -> Path:
    """A request file of ``requests_for(count, prefix, text)`` (max_tokens 32 unless given)."""
    params.setdefault("max_tokens", 32)
    return write_jsonl(path, requests_for(count, prefix, text, **params))


def read_csv(data: bytes) -> list[dict[str, str]]:
    """Rows of a CSV that batchctl wrote (UTF-8, a header line), as dicts."""
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def json_lines(text: str | bytes) -> list[dict[str, Any]]:
    """The JSON objects of a JSON lines text (blank lines skipped)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class FifoReader:
    """A FIFO at ``path`` and a thread reading it to the end (opening a FIFO to write waits
    for a reader, as with a shell's `-o >(gzip > x)`)."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path, self.data = path, b""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with open(self.path, "rb") as fifo:
            self.data = fifo.read()

    def join(self) -> bytes:
        self.thread.join(30)
        assert not self.thread.is_alive(), "the FIFO was never closed by the writer"
        return self.data
