"""Turn plain prompts into a request file: one request per text line, CSV row, or file.

Three sources, read as streams (a text file or CSV is never read whole; with ``--files`` each
file is one prompt and is read whole):

* ``lines``: one prompt per non-blank line of a text file (or stdin); ids ``line-N`` (N = the
  line number in the file, so an answer leads back to its line).
* ``csv``: the prompt is one column of a CSV (``.tsv``: tab-separated) with a header row; ids
  from ``id_column`` (sanitised) or ``row-N`` (N = the data row, header excluded).
* ``files``: one request per file matched by a glob; ids from the file path relative to the
  matched files' common folder, without its extension (``notes/a.txt`` -> ``notes_a``).

Every custom_id is valid by construction: characters outside ``[A-Za-z0-9_-]`` become ``_``,
ids are cut to 64 characters, and a repeat gets a ``-2``, ``-3``... suffix; every change is
counted in the summary. Problems are collected (the first ``MAX_PROBLEMS``, then counted) as
``FILE:LINE: message`` and raised together as `InputError` (exit 3) once the input is read.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from batchctl.core.errors import InputError, UsageError
from batchctl.core.requests import provenance

DEFAULT_MODEL = "claude-haiku-4-5"  # cheap and fast: what most bulk everyday prompts want
MODEL_ENV = "BATCHCTL_MODEL"
DEFAULT_MAX_TOKENS = 1024
DEFAULT_TEMPLATE = "{text}"
MAX_PROBLEMS = 50
MAX_ID = 64
MAX_PREFIX = 40

_BOM = b"\xef\xbb\xbf"
_BAD_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
_PREFIX = re.compile(r"[A-Za-z0-9_-]*")
_PLACEHOLDER = re.compile(r"\{([^{}\n]+)\}")


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
    skipped_blank: int = 0
    renamed: int = 0  # ids changed to fit the API's rules (characters, length)
    deduplicated: int = 0  # ids that repeated and got a suffix
    examples: list[str] = field(default_factory=list)  # "LOC: 'old' -> 'new'", the first few


def check_spec(spec: PrepareSpec) -> None:
    """Reject impossible combinations before reading anything (UsageError, exit 2)."""
    if spec.files_glob is not None and spec.source is not None:
        raise UsageError("give either FILE or --files GLOB, not both")
    if spec.files_glob is None and spec.source is None:
        raise UsageError(
            "nothing to read: give a FILE (or - for stdin), or --files GLOB",
            hint="batchctl prepare prompts.txt > requests.jsonl",
        )
    if spec.id_column is not None and spec.column is None:
        raise UsageError("--id-column needs --column (the CSV column that holds the prompt)")
    if spec.files_glob is not None and spec.column is not None:
        raise UsageError("--column reads a CSV file; it cannot be used with --files")
    if "{text}" not in spec.template:
        raise UsageError(
            "--template must contain {text} (where the prompt goes)",
            hint="e.g. --template 'Summarise in one sentence: {text}'",
        )
    if not spec.model.strip():
        raise UsageError("--model must not be empty")
    if spec.max_tokens < 1:
        raise UsageError("--max-tokens must be at least 1")
    _check_rules(spec)
    prefix = spec.id_prefix
    if prefix is not None and (not _PREFIX.fullmatch(prefix) or len(prefix) > MAX_PREFIX):
        raise UsageError(
            f"--id-prefix {prefix!r} must be at most {MAX_PREFIX} characters from "
            "a-z A-Z 0-9 _ -"
        )


def _check_rules(spec: PrepareSpec) -> None:
    """--model and --max-tokens against the request rules (core/requests/rules.py), as submit
    will check every request prepare writes: a near-miss model id, a max_tokens over the
    model's limit are usage errors now rather than problems on every line later."""
    from batchctl.core.requests.rules import Rules

    sample = {"model": spec.model, "max_tokens": spec.max_tokens,
              "messages": [{"role": "user", "content": "x"}]}
    for violation in Rules(allow_unknown_model=spec.allow_unknown_model).check(sample):
        if not violation.warning:
            option = "--model" if violation.field == "model" else "--max-tokens"
            raise UsageError(f"{option}: {violation.message}", hint=violation.hint)


class _Ids:
    """Hands out valid, unique custom_ids and remembers what it had to change."""

    def __init__(self, result: Prepared) -> None:
        self.used: set[str] = set()
        self.result = result

    def _note(self, loc: str, old: str, new: str) -> None:
        if len(self.result.examples) < 3:
            self.result.examples.append(f"{loc}: {old!r} -> {new!r}")

    def take(self, wanted: str, loc: str, *, fallback: str) -> str:
        """``wanted`` made valid (``fallback`` if nothing is left of it) and unique."""
        clean = _BAD_ID_CHARS.sub("_", wanted).strip("_")[:MAX_ID] or fallback[:MAX_ID]
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


class _Problems:
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
                f"{name}: {count} problem{'s' if count != 1 else ''}; no request file was written",
                problems=self.items,
                more=self.more,
            )


def fill(template: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` for the names in ``values``; any other brace text stays as it is."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def request_line(spec: PrepareSpec, custom_id: str, text: str) -> bytes:
    """One request in the native form, as a JSON line."""
    params: dict[str, Any] = {"model": spec.model, "max_tokens": spec.max_tokens}
    if spec.system:
        params["system"] = spec.system
    params["messages"] = [{"role": "user", "content": text}]
    return orjson.dumps({"custom_id": custom_id, "params": params}) + b"\n"


def _decode(raw: bytes, loc: str, problems: _Problems) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        problems.add(loc, f"bytes that are not UTF-8 at column {bad.start + 1}")
        return None


def _open_source(source: str, stdin: IO[bytes] | None) -> tuple[str, IO[bytes], bool]:
    """``(display name, binary stream, close it?)``."""
    if source == "-":
        if stdin is None:
            raise UsageError("no standard input to read")
        return "<stdin>", stdin, False
    try:
        return source, open(source, "rb"), True  # closed by the caller
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{source}: is a directory", hint="use --files 'DIR/*.txt'") from None
    except OSError as exc:
        raise InputError(f"{source}: cannot be read: {exc.strerror}") from None


def _physical_lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for line_no, raw in enumerate(stream, 1):
        yield line_no, (raw[3:] if line_no == 1 and raw.startswith(_BOM) else raw)


def _from_lines(
    spec: PrepareSpec, name: str, stream: IO[bytes], ids: _Ids, problems: _Problems
) -> Iterator[bytes]:
    prefix = "line-" if spec.id_prefix is None else spec.id_prefix
    for line_no, raw in _physical_lines(stream):
        loc = f"{name}:{line_no}"
        text = _decode(raw, loc, problems)
        if text is None:
            continue
        text = text.strip()
        if not text:
            ids.result.skipped_blank += 1
            continue
        wanted = f"{prefix}{line_no}"
        custom_id = ids.take(wanted, loc, fallback=f"line-{line_no}")
        yield request_line(spec, custom_id, fill(spec.template, {"text": text}))


def _csv_text(
    name: str, stream: IO[bytes], problems: _Problems, counter: list[int]
) -> Iterator[str]:
    """Decoded physical lines for the csv module; ``counter[0]`` is the last line read."""
    for line_no, raw in _physical_lines(stream):
        counter[0] = line_no
        text = _decode(raw, f"{name}:{line_no}", problems)
        yield raw.decode("utf-8", "replace") if text is None else text


def _from_csv(
    spec: PrepareSpec, name: str, stream: IO[bytes], ids: _Ids, problems: _Problems
) -> Iterator[bytes]:
    for _loc, header, row, custom_id, text in csv_rows(spec, name, stream, ids, problems):
        if custom_id is None or text is None:
            continue
        values = {h: (row[i] if i < len(row) else "") for i, h in enumerate(header) if h}
        values["text"] = text
        yield request_line(spec, custom_id, fill(spec.template, values))


def csv_rows(
    spec: PrepareSpec, name: str, stream: IO[bytes], ids: _Ids, problems: _Problems
) -> Iterator[tuple[str, list[str], list[str], str | None, str | None]]:
    """``(loc, header, row, custom_id, prompt)`` for every non-blank data row of a CSV, in
    order; custom_id and prompt are None for a row with a problem (added to ``problems``).
    ``results --join`` reads a prepared CSV through this too, so it finds the same ids."""
    assert spec.column is not None
    counter = [0]
    delimiter = "\t" if name.lower().endswith(".tsv") else ","
    reader = csv.reader(_csv_text(name, stream, problems, counter), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InputError(f"{name}:{counter[0]}: the CSV header cannot be read: {exc}") from None
    if not header or not any(h.strip() for h in header):
        raise InputError(f"{name}: no header row: the first row must name the columns")
    header = [h.strip() for h in header]
    index = _column_index(header, spec.column, "--column", name)
    id_index = (
        _column_index(header, spec.id_column, "--id-column", name)
        if spec.id_column is not None
        else None
    )
    prefix = spec.id_prefix if spec.id_prefix is not None else ("" if id_index is not None else "row-")
    row_no, end = 0, counter[0]
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.add(f"{name}:{start}", f"cannot be read as CSV: {exc}")
            break
        end = counter[0]
        if not row or not any(cell.strip() for cell in row):
            ids.result.skipped_blank += 1
            continue
        row_no += 1
        loc = f"{name}:{start}"
        needed = max(index, id_index if id_index is not None else -1)
        if len(row) <= needed:
            problems.add(loc, f"row has {len(row)} fields; the header has {len(header)}")
            yield loc, header, row, None, None
            continue
        text = row[index].strip()
        if not text:
            problems.add(loc, f"column {spec.column!r} is empty")
            yield loc, header, row, None, None
            continue
        if id_index is not None:
            raw_id = row[id_index].strip()
            if not raw_id:
                problems.add(loc, f"column {spec.id_column!r} (the id) is empty")
                yield loc, header, row, None, None
                continue
            custom_id = ids.take(prefix + raw_id, loc, fallback=f"row-{row_no}")
        else:
            custom_id = ids.take(f"{prefix}{row_no}", loc, fallback=f"row-{row_no}")
        yield loc, header, row, custom_id, text


def _column_index(header: list[str], column: str, flag: str, name: str) -> int:
    if column in header:
        return header.index(column)
    folded = [h.casefold() for h in header]
    if column.strip().casefold() in folded:
        return folded.index(column.strip().casefold())
    shown = ", ".join(repr(h) for h in header if h)
    raise UsageError(
        f"{flag} {column!r}: {name} has no such column",
        hint=f"its header names: {shown}",
    )


def match_files(pattern: str) -> list[str]:
    """Regular files matching ``pattern`` (``**`` recurses), sorted."""
    paths = glob.glob(os.path.expanduser(pattern), recursive=True)
    return sorted(p for p in paths if os.path.isfile(p))


def _file_id_base(path: str, root: str) -> str:
    rel = os.path.relpath(path, root) if root else path
    stem, _ = os.path.splitext(rel)
    return stem.replace(os.sep, "_")


def _from_files(
    spec: PrepareSpec, ids: _Ids, problems: _Problems
) -> Iterator[bytes]:
    assert spec.files_glob is not None
    paths = match_files(spec.files_glob)
    if not paths:
        raise InputError(
            f"no file matches {spec.files_glob!r}",
            hint="quote the pattern so batchctl expands it: --files 'docs/**/*.txt'",
        )
    dirs = {os.path.dirname(os.path.abspath(p)) for p in paths}
    root = os.path.commonpath(sorted(dirs))
    prefix = spec.id_prefix or ""
    for n, path in enumerate(paths, 1):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            problems.add(path, f"cannot be read: {exc.strerror}")
            continue
        if data.startswith(_BOM):
            data = data[3:]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as bad:
            line = data.count(b"\n", 0, bad.start) + 1
            problems.add(f"{path}:{line}", "bytes that are not UTF-8 (not a text file?)")
            continue
        text = text.lstrip("\r\n").rstrip()  # trailing newline(s) are not part of the prompt
        if not text:
            problems.add(path, "the file is empty")
            continue
        base = _file_id_base(os.path.abspath(path), root)
        custom_id = ids.take(prefix + base, path, fallback=f"file-{n}")
        name = os.path.basename(path)
        yield request_line(spec, custom_id, fill(spec.template, {"text": text, "name": name}))


def prepare(
    spec: PrepareSpec,
    sink: Callable[[bytes], Any],
    *,
    stdin: IO[bytes] | None = None,
    remember_in: Path | None = None,
) -> Prepared:
    """Write the request file for ``spec`` through ``sink`` (one JSON line per call).

    Raises `UsageError` (exit 2) for bad options or a CSV column that is not in the header, and
    `InputError` (exit 3) with every problem as ``FILE:LINE: message`` after reading the whole
    input; the caller must then discard what ``sink`` received. With ``remember_in`` (the state
    directory), a request file made from a CSV file is remembered for ``results --join``
    (``batchctl.core.requests.provenance``).
    """
    if remember_in is not None and spec.mode == "csv" and spec.source not in (None, "-"):
        digest = hashlib.sha256()

        def hashed(line: bytes) -> None:
            digest.update(line)
            sink(line)

        result = prepare(spec, hashed, stdin=stdin)
        assert spec.source is not None
        provenance.remember(remember_in, digest.hexdigest(), {
            "source": os.path.abspath(spec.source),
            "source_sha256": provenance.file_sha256(spec.source),
            "column": spec.column,
            "id_column": spec.id_column,
            "id_prefix": spec.id_prefix,
            "ids_changed": bool(result.renamed or result.deduplicated),
        })
        return result
    check_spec(spec)
    result = Prepared(mode=spec.mode)
    ids = _Ids(result)
    problems = _Problems()
    if spec.mode == "files":
        _drain(_from_files(spec, ids, problems), sink, result)
        problems.raise_if_any(f"--files {spec.files_glob}")
    else:
        assert spec.source is not None
        name, stream, close = _open_source(spec.source, stdin)
        try:
            make = _from_csv if spec.mode == "csv" else _from_lines
            _drain(make(spec, name, stream, ids, problems), sink, result)
        finally:
            if close:
                stream.close()
        problems.raise_if_any(name)
    if not result.requests:
        where = spec.files_glob if spec.mode == "files" else name
        raise InputError(f"{where}: no prompts: the input is empty or has only blank lines")
    return result


def _drain(lines: Iterable[bytes], sink: Callable[[bytes], Any], result: Prepared) -> None:
    for line in lines:
        sink(line)
        result.requests += 1


def prepared_rows(
    record: dict[str, Any], path: str
) -> Iterator[tuple[list[str], list[str], str | None]]:
    """``(header, row, custom_id)`` for every data row of the CSV that ``record`` (from
    ``provenance``) says ``prepare`` read, with the custom_ids prepare gave them (None for a
    row it refused). Ids are replayed through the same checks only when prepare had to change
    some (the replay holds every id in memory); otherwise they are read straight off the row."""
    spec = PrepareSpec(source=path, column=record.get("column"), id_column=record.get("id_column"),
                       id_prefix=record.get("id_prefix"))
    ids = _Ids(Prepared(mode="csv"))
    if not record.get("ids_changed"):
        ids.take = lambda wanted, loc, *, fallback: wanted  # type: ignore[method-assign]
    with open(path, "rb") as stream:
        for _loc, header, row, custom_id, _text in csv_rows(spec, path, stream, ids, _Problems()):
            yield header, row, custom_id
