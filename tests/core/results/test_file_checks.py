"""FileChecks (core/results/sources.py): one read of a request file gives its sha256 and whether
it holds a cache marker anywhere, a marker split across two read blocks included."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from batchctl.core.results import sources
from batchctl.core.results.sources import FileChecks, check_file


@pytest.mark.parametrize("at", [0, 5, 10, 14, 15, 30])
def test_a_marker_across_blocks_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         at: int) -> None:
    monkeypatch.setattr(FileChecks, "BLOCK", 16)
    body = b"x" * at + b'"cache_control"' + b"y" * 40
    path = tmp_path / "r.jsonl"
    path.write_bytes(body)
    digest, marked = FileChecks().of(path, len(body))
    assert (digest, marked) == (hashlib.sha256(body).hexdigest(), True)


def test_no_marker_and_each_file_read_once(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    body = b'{"custom_id":"a","params":{}}\n' * 50
    path = tmp_path / "r.jsonl"
    path.write_bytes(body)
    reads: list[Path] = []
    real = sources._digest
    monkeypatch.setattr(sources, "_digest", lambda p: reads.append(p) or real(p))
    row = {"id": "b", "request_file": str(path), "byte_size": len(body),
           "sha256": hashlib.sha256(body).hexdigest()}
    seen = FileChecks()
    assert check_file(row, seen) == path and check_file(row, seen) == path
    assert reads == [path]
    assert seen.marked(str(path)) is False
    assert seen.marked(str(tmp_path / "other.jsonl")) is True  # not checked: not known
