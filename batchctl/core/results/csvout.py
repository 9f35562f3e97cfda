"""Results as CSV: one row per request, fixed columns, RFC 4180, UTF-8.

Rows end with CRLF (``\\r\\n``, as RFC 4180 says); a field holding a comma, a double quote, a
CR or an LF is quoted, with quotes doubled; newlines inside a text stay as they are, inside the
quotes. UTF-8 without a byte-order mark. The first row is the header. ``text`` is every text
block of the message joined with nothing in between (a reply with citations comes as several
text blocks that read as one). An errored result's error is one level down in the API's
envelope (``result.error.error.type``); that is what ``error_type``/``error_message`` hold.
``tool_use`` is the compact JSON of the ``input`` of the reply's tool_use block (of all of them,
as an array, when there are several). ``thinking`` (a column only when asked for) is every
thinking block joined with a blank line between. Numbers are written as numbers; a field that
does not apply is empty.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson

COLUMNS = (
    "custom_id",
    "result_type",
    "model",
    "stop_reason",
    "text",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "error_type",
    "error_message",
    "tool_use",
)
THINKING = "thinking"
#: Every answer column ``--columns`` can choose (``thinking`` only when chosen, or --thinking).
ANSWER_COLUMNS = (*COLUMNS, THINKING)
#: A join's answer columns unless chosen: the answer and its status (DATA holds the rest).
JOIN_COLUMNS = ("text", "result_type")
LINE_TERMINATOR = "\r\n"
FLUSH_AT = 1 << 20  # characters buffered before they are encoded and handed on


def _text(content: Any) -> str:
    if not isinstance(content, list):
        return ""
    return "".join(
        block["text"]
        for block in content
        if isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    )


def _tool_use(content: Any) -> str | None:
    if not isinstance(content, list):
        return None
    inputs = [
        block.get("input")
        for block in content
        if isinstance(block, dict) and block.get("type") == "tool_use"
    ]
    if not inputs:
        return None
    return orjson.dumps(inputs[0] if len(inputs) == 1 else inputs).decode()


def thinking(record: Mapping[str, Any]) -> str | None:
    """The ``thinking`` field of one parsed results line: its thinking blocks' text."""
    result = record.get("result")
    message = result.get("message") if isinstance(result, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, list):
        return None
    parts = [
        block["thinking"]
        for block in content
        if isinstance(block, dict)
        and block.get("type") == "thinking"
        and isinstance(block.get("thinking"), str)
    ]
    return "\n\n".join(parts) if parts else None


def row(record: Mapping[str, Any]) -> list[Any]:
    """The CSV row of one parsed results line."""
    try:  # the usual shapes, read directly; anything unusual goes the careful way below
        result = record["result"]
        kind = result["type"]
        if kind == "succeeded":
            message = result["message"]
            usage = message["usage"]
            content = message["content"]
            if len(content) == 1 and content[0]["type"] == "text":
                text, tool_use = content[0]["text"], None
            else:
                text, tool_use = _text(content), _tool_use(content)
            if type(text) is str:
                return [
                    record["custom_id"], kind, message["model"], message.get("stop_reason"),
                    text, usage["input_tokens"], usage["output_tokens"],
                    usage.get("cache_creation_input_tokens"),
                    usage.get("cache_read_input_tokens"), None, None, tool_use,
                ]
        elif kind == "errored":
            error = result["error"]["error"]
            return [record["custom_id"], kind, None, None, None, None, None, None, None,
                    error["type"], error["message"], None]
        elif kind in ("canceled", "expired"):
            return [record["custom_id"], kind, None, None, None, None, None, None, None, None,
                    None, None]
    except (KeyError, TypeError, AttributeError):
        pass
    return _careful_row(record)


def _careful_row(record: Mapping[str, Any]) -> list[Any]:
    result = record.get("result")
    result = result if isinstance(result, dict) else {}
    kind = result.get("type")
    model = stop = text = input_tokens = output_tokens = cache_write = cache_read = None
    error_type = error_message = tool_use = None
    if kind == "succeeded":
        message = result.get("message")
        if isinstance(message, dict):
            model = message.get("model")
            stop = message.get("stop_reason")
            text = _text(message.get("content"))
            tool_use = _tool_use(message.get("content"))
            usage = message.get("usage")
            if isinstance(usage, dict):
                input_tokens = usage.get("input_tokens")
                output_tokens = usage.get("output_tokens")
                cache_write = usage.get("cache_creation_input_tokens")
                cache_read = usage.get("cache_read_input_tokens")
    elif kind == "errored":
        envelope = result.get("error")
        inner = envelope.get("error") if isinstance(envelope, dict) else None
        if isinstance(inner, dict):  # the API's nesting: result.error.error
            error_type, error_message = inner.get("type"), inner.get("message")
        elif isinstance(envelope, dict):  # tolerate a flat error, should one ever come
            error_type, error_message = envelope.get("type"), envelope.get("message")
    return [
        record.get("custom_id"),
        kind,
        model,
        stop,
        text,
        input_tokens,
        output_tokens,
        cache_write,
        cache_read,
        error_type,
        error_message,
        tool_use,
    ]


def picker(columns: Sequence[str]) -> Callable[[Mapping[str, Any]], list[Any]]:
    """The row of one parsed results line with ``columns`` (of ``ANSWER_COLUMNS``) in their
    order: ``row`` itself for the default columns, so the usual CSV pays nothing for the choice."""
    chosen = tuple(columns)
    if chosen == COLUMNS:
        return row
    at = [COLUMNS.index(c) if c != THINKING else -1 for c in chosen]  # -1: thinking, added last
    with_thinking = THINKING in chosen

    def pick(record: Mapping[str, Any]) -> list[Any]:
        full = row(record)
        if with_thinking:
            full.append(thinking(record))
        return [full[i] for i in at]

    return pick


def blank(columns: Sequence[str], custom_id: str | None, kind: str) -> list[Any]:
    """The row of ``columns`` for a request without a result: its id and ``kind``, else empty."""
    known = {"custom_id": custom_id, "result_type": kind}
    return [known.get(c) for c in columns]


class Encoder:
    """Rows in, UTF-8 bytes out in blocks of about FLUSH_AT characters; the header first."""

    def __init__(self, columns: Sequence[str] = COLUMNS) -> None:
        self._buf = io.StringIO()
        self._writer = csv.writer(self._buf, lineterminator=LINE_TERMINATOR)
        self._writer.writerow(columns)

    def add(self, rows: Iterable[list[Any]]) -> bytes | None:
        """Add rows; returns a block of bytes once enough has built up."""
        self._writer.writerows(rows)
        return self.take() if self._buf.tell() >= FLUSH_AT else None

    def take(self) -> bytes:
        data = self._buf.getvalue().encode("utf-8", "replace")
        self._buf.seek(0)
        self._buf.truncate()
        return data


def encode_rows(columns: Sequence[str], rows: Iterable[list[Any]], *, block: int = 2000
                ) -> Iterator[bytes]:
    """The CSV of ``rows`` under ``columns``, header first, encoded ``block`` rows at a time."""
    encoder = Encoder(columns)
    pending: list[list[Any]] = []
    for r in rows:
        pending.append(r)
        if len(pending) >= block:
            data = encoder.add(pending)
            pending = []
            if data:
                yield data
    encoder.add(pending)
    yield encoder.take()
