"""What every source of ``prepare`` shares: the spec of the requests to write, the summary of
a run, the custom_id maker (valid, unique, every change counted), the problem list, and the
request line itself. ``batchctl.core.requests.prepare`` reads the sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

from batchctl.core.errors import InputError
from batchctl.core.flags import KEYS, Flags
from batchctl.core.plural import counted

DEFAULT_MODEL = "claude-haiku-4-5"  # cheap and fast: what most bulk everyday prompts want
MODEL_ENV = "BATCHCTL_MODEL"
DEFAULT_MAX_TOKENS = 1024
DEFAULT_TEMPLATE = "{text}"
MAX_PROBLEMS = 50
MAX_ID = 64
MAX_PREFIX = 40

BOM = b"\xef\xbb\xbf"
BAD_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
PREFIX = re.compile(r"[A-Za-z0-9_-]*")
PLACEHOLDER = re.compile(r"\{([^{}\n]+)\}")


@dataclass(frozen=True)
class PrepareSpec:
    """What to read and what each request looks like."""

    source: str | None = None  # a path, or "-" for stdin; None with files_glob
    column: str | None = None  # CSV mode
    id_column: str | None = None
    files_glob: str | None = None  # files mode
    template: str = DEFAULT_TEMPLATE
    model: str = DEFAULT_MODEL
    max_tokens: int = DEFAULT_MAX_TOKENS
    system: str | None = None
    id_prefix: str | None = None
    allow_unknown_model: bool = False
    # how the caller names these options, for messages (key: the field)
    flags: Flags = field(default=KEYS, compare=False, repr=False)

    @property
    def mode(self) -> str:
        if self.files_glob is not None:
            return "files"
        if self.column is not None:
            return "csv"
        return "lines"


@dataclass
class Prepared:
    """What a prepare run produced (for the summary on stderr)."""

    mode: str
    requests: int = 0
    renamed: int = 0  # ids changed to fit the API's rules (characters, length)
    deduplicated: int = 0  # ids that repeated and got a suffix
    examples: list[str] = field(default_factory=list)  # "LOC: 'old' -> 'new'", the first few


class Ids:
    """Hands out valid, unique custom_ids and remembers what it had to change."""

    def __init__(self, result: Prepared) -> None:
        self.used: set[str] = set()
        self.result = result

    def _note(self, loc: str, old: str, new: str) -> None:
        if len(self.result.examples) < 3:
            self.result.examples.append(f"{loc}: {old!r} -> {new!r}")

    def take(self, wanted: str, loc: str, *, fallback: str) -> str:
        """``wanted`` made valid (``fallback`` if nothing is left of it) and unique."""
        clean = BAD_ID_CHARS.sub("_", wanted).strip("_")[:MAX_ID] or fallback[:MAX_ID]
        if clean != wanted:
            self.result.renamed += 1
        final, n = clean, 1
        while final in self.used:
            n += 1
            suffix = f"-{n}"
            final = clean[: MAX_ID - len(suffix)] + suffix
        if final != clean:
            self.result.deduplicated += 1
        if final != wanted:
            self._note(loc, wanted, final)
        self.used.add(final)
        return final


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []
        self.more = 0

    def add(self, loc: str, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(f"{loc}: {message}")
        else:
            self.more += 1

    def raise_if_any(self, name: str) -> None:
        if self.items:
            count = len(self.items) + self.more
            raise InputError(
                f"{name}: {counted(count, 'problem')}; no request file was written",
                problems=self.items,
                more=self.more,
            )


def fill(template: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` for the names in ``values``; any other brace text stays as it is."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def request_line(spec: PrepareSpec, custom_id: str, text: str) -> bytes:
    """One request in the native form, as a JSON line."""
    params: dict[str, Any] = {"model": spec.model, "max_tokens": spec.max_tokens}
    if spec.system:
        params["system"] = spec.system
    params["messages"] = [{"role": "user", "content": text}]
    return orjson.dumps({"custom_id": custom_id, "params": params}) + b"\n"


def decode(raw: bytes, loc: str, problems: Problems) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        problems.add(loc, f"bytes that are not UTF-8 at column {bad.start + 1}")
        return None


def physical_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for line_no, raw in enumerate(stream, 1):
        yield line_no, (raw[3:] if line_no == 1 and raw.startswith(BOM) else raw)
