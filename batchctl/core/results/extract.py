"""Structured answers out of results: ``--extract json`` and ``--extract tool:NAME``.

Per succeeded result, ``json`` takes the ``input`` of the first ``tool_use`` block, else the JSON
in the text (every text block joined): the first fenced ```` ```json ```` block, or else the
whole text. ``tool:NAME`` takes the input of the first ``tool_use`` block named NAME. What is
found must be a JSON object; its top-level keys become CSV columns ``json.KEY`` (strings as they
are, numbers as numbers, ``true``/``false``, null as an empty field, arrays and objects as
compact JSON). A reply that gives no object gets ``extract_error`` with the reason, never a
crash. Results that did not succeed get neither.

CSV columns are only known once every result has been read, so the rows wait in a temporary
file (``ColumnSpool``) and are written after the header: memory stays flat, the disk holds one
copy of the rows.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

import orjson

from batchctl.core.errors import UsageError

_FENCE = re.compile(r"```json[ \t]*\r?\n(.*?)```", re.DOTALL | re.IGNORECASE)
PREFIX = "json."
ERROR_COLUMN = "extract_error"


@dataclass(frozen=True)
class Extractor:
    """What ``--extract`` asked for: ``tool`` None for ``json``, else the tool's name."""

    tool: str | None = None

    @property
    def label(self) -> str:
        return "json" if self.tool is None else f"tool:{self.tool}"

    def __call__(self, record: Mapping[str, Any]) -> tuple[Any, str | None]:
        """``(object, None)`` or ``(None, reason)``; ``(None, None)`` for a result that did not
        succeed."""
        result = record.get("result")
        if not isinstance(result, dict) or result.get("type") != "succeeded":
            return None, None
        message = result.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            return None, "the message has no content"
        cut = isinstance(message, dict) and message.get("stop_reason") == "max_tokens"
        uses = [b for b in content if isinstance(b, dict) and b.get("type") == "tool_use"]
        if self.tool is not None:
            for block in uses:
                if block.get("name") == self.tool:
                    return _object(block.get("input"), "the tool input")
            names = sorted({str(b.get("name")) for b in uses})
            found = f" (it called {', '.join(map(repr, names))})" if names else ""
            return None, f"no tool_use block named {self.tool!r}{found}" + _cut_note(cut)
        if uses:
            return _object(uses[0].get("input"), "the tool input")
        text = "".join(
            b["text"] for b in content
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        )
        if not text.strip():
            return None, "no tool_use block and no text" + _cut_note(cut)
        fenced = _FENCE.search(text)
        raw = fenced.group(1) if fenced else text
        where = "the ```json block" if fenced else "the text"
        try:
            value = orjson.loads(raw.strip().encode("utf-8", "replace"))
        except orjson.JSONDecodeError as exc:
            return None, f"{where} is not JSON: {exc}" + _cut_note(cut)
        return _object(value, where)


def _cut_note(cut: bool) -> str:
    return " (the reply was cut at max_tokens)" if cut else ""


def _object(value: Any, where: str) -> tuple[Any, str | None]:
    if isinstance(value, dict):
        return value, None
    kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")
    return None, f"{where} is {kind}, not a JSON object"


def parse(text: str | None, option: str = "extract") -> Extractor | None:
    """``--extract json`` / ``--extract tool:NAME`` -> an Extractor; a usage error otherwise
    (``option``: how the caller names the option)."""
    if text is None:
        return None
    spec = text.strip()
    if spec.lower() == "json":
        return Extractor()
    kind, sep, name = spec.partition(":")
    if sep and kind.strip().lower() == "tool" and name.strip():
        return Extractor(tool=name.strip())
    raise UsageError(f"{option} must be 'json' or 'tool:NAME', not {text!r}")


def cell(value: Any) -> Any:
    """One ``json.KEY`` field."""
    if value is None:
        return None
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return value
    return orjson.dumps(value).decode()


def jsonl_suffix(value: Any, error: str | None) -> bytes:
    """What goes before a results line's closing brace: ``extracted`` and ``extract_error``."""
    return (b',"extracted":' + orjson.dumps(value) + b',"extract_error":'
            + orjson.dumps(error))


def add_to_line(line: bytes, value: Any, error: str | None) -> bytes:
    """A results line with ``extracted`` and ``extract_error`` added after ``result``, which
    stays byte for byte as the API wrote it."""
    body = line.rstrip()
    if not body.endswith(b"}"):  # not an object: leave it as it came
        return line
    return body[:-1] + jsonl_suffix(value, error) + b"}"


class ColumnSpool:
    """CSV rows waiting for the ``json.*`` columns to be known: each row and its extracted
    object go to a temporary file; the keys are gathered in the order they first appear."""

    def __init__(self) -> None:
        # closed by close(), in the export's finally
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="batchctl-extract-")  # noqa: SIM115
        self.keys: dict[str, None] = {}

    def put(self, row: list[Any], value: Any, error: str | None) -> None:
        if isinstance(value, dict):
            for key in value:
                if key not in self.keys:
                    self.keys[key] = None
        self._file.write(orjson.dumps([row, value, error]) + b"\n")

    @property
    def columns(self) -> list[str]:
        return [ERROR_COLUMN, *(PREFIX + str(k) for k in self.keys)]

    def rows(self) -> Iterator[list[Any]]:
        """Every row put, with ``extract_error`` and one field per key, in order."""
        self._file.seek(0)
        keys = list(self.keys)
        for line in self._file:
            row, value, error = orjson.loads(line)
            if isinstance(value, dict):
                get = value.get
                row.append(error)
                row.extend(cell(get(k)) for k in keys)
            else:
                row.append(error)
                row.extend([None] * len(keys))
            yield row

    def close(self) -> None:
        self._file.close()
