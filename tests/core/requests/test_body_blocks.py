"""The create body read a block at a time (batchctl.core.requests.body) is the one iter_lines'
lines make: every line stripped, blank lines left out, a byte-order mark taken off line 1 only,
in each part of a split file, however the lines fall across blocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchctl.core.requests import body
from batchctl.core.requests.body import part_body
from batchctl.core.requests.scan import BODY_HEAD, BODY_TAIL, iter_lines, scan_file
from tests.support.files import request


def lines_body(path: Path, part: object) -> bytes:
    lines = [line for _, _, line in iter_lines(path, part)]  # type: ignore[arg-type]
    return BODY_HEAD + b",".join(lines) + BODY_TAIL


def requests(n: int, text: str = "x") -> list[bytes]:
    return [json.dumps(request(f"r{i}", text * (i % 7 + 1), max_tokens=16)).encode()
            for i in range(n)]


SHAPES = {
    "tidy": lambda rs: b"\n".join(rs) + b"\n",
    "no final newline": lambda rs: b"\n".join(rs),
    "crlf": lambda rs: b"\r\n".join(rs) + b"\r\n",
    "blank lines and spaces": lambda rs: b"\n\n".join(b"  " + r + b" \t" for r in rs) + b"\n\n",
    "byte-order mark": lambda rs: b"\xef\xbb\xbf" + b"\n".join(rs) + b"\n",
    "one untidy line": lambda rs: b"\n".join([*rs[:40], b" " + rs[40], *rs[41:]]) + b"\n",
}


@pytest.mark.parametrize("shape", SHAPES)
def test_blocks_give_the_body_of_the_lines(shape: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(body, "READ_SIZE", 997)  # lines fall across many blocks
    path = tmp_path / "requests.jsonl"
    path.write_bytes(SHAPES[shape](requests(90)))
    scan = scan_file(path, max_requests=25)
    assert len(scan.parts) == 4
    for part in scan.parts:
        data = b"".join(part_body(path, part))
        assert data == lines_body(path, part)
        assert len(data) == part.body_size


def test_a_line_longer_than_a_block_byte_order_mark_and_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(body, "READ_SIZE", 64)
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(requests(5, "long " * 40)) + b"\n")
    (part,) = scan_file(path).parts
    assert b"".join(part_body(path, part)) == lines_body(path, part)
