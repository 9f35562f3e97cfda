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

What the sources share (the spec, the id maker, the problem list) is in ``prepare_spec``; the
CSV source, which ``results --join`` reads back too, is ``prepare_csv``.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from batchctl.core.errors import InputError, UsageError
from batchctl.core.events import Data, Events
from batchctl.core.requests import provenance
from batchctl.core.requests.prepare_csv import column_for, csv_rows, from_csv, prepared_rows
from batchctl.core.requests.prepare_spec import (
    BOM,
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    DEFAULT_TEMPLATE,
    MAX_PREFIX,
    MODEL_ENV,
    PREFIX,
    Ids,
    Prepared,
    PrepareSpec,
    Problems,
    decode,
    fill,
    physical_lines,
    request_line,
)

__all__ = ["DEFAULT_MAX_TOKENS", "DEFAULT_MODEL", "DEFAULT_TEMPLATE", "MODEL_ENV", "PrepareSpec",
           "Prepared", "check_spec", "csv_rows", "fill", "match_files", "prepare",
           "prepared_rows", "request_line"]

BLOCK = 1 << 16  # bytes of request lines yielded at a time


def check_spec(spec: PrepareSpec) -> None:
    """Reject impossible combinations before reading anything (UsageError, exit 2)."""
    flag = spec.flags
    files, column = flag["files_glob"], flag["column"]
    if spec.files_glob is not None and spec.source is not None:
        raise UsageError(f"give either FILE or {files} GLOB, not both")
    if spec.files_glob is None and spec.source is None:
        raise UsageError(
            f"nothing to read: give a FILE (or - for stdin), or {files} GLOB",
            hint="batchctl prepare prompts.txt > requests.jsonl",
        )
    if spec.id_column is not None and spec.column is None:
        raise UsageError(f"{flag['id_column']} needs {column} (the CSV column that holds the "
                         "prompt)")
    if spec.files_glob is not None and spec.column is not None:
        raise UsageError(f"{column} reads a CSV file; it cannot be used with {files}")
    if "{text}" not in spec.template:
        raise UsageError(
            f"{flag['template']} must contain {{text}} (where the prompt goes)",
            hint=f"e.g. {flag['template']} 'Summarise in one sentence: {{text}}'",
        )
    if not spec.model.strip():
        raise UsageError(f"{flag['model']} must not be empty")
    if spec.max_tokens < 1:
        raise UsageError(f"{flag['max_tokens']} must be at least 1")
    _check_rules(spec)
    prefix = spec.id_prefix
    if prefix is not None and (not PREFIX.fullmatch(prefix) or len(prefix) > MAX_PREFIX):
        raise UsageError(
            f"{flag['id_prefix']} {prefix!r} must be at most {MAX_PREFIX} characters from "
            f"a-z A-Z 0-9 _ -; it has {len(prefix)}"
        )


def _check_rules(spec: PrepareSpec) -> None:
    """--model and --max-tokens against the request rules (core/requests/rules.py), as submit
    will check every request prepare writes: a near-miss model id, a max_tokens over the
    model's limit are usage errors now rather than problems on every line later."""
    from batchctl.core.catalog.models import Catalogue
    from batchctl.core.requests.rules import Rules

    sample = {"model": spec.model, "max_tokens": spec.max_tokens,
              "messages": [{"role": "user", "content": "x"}]}
    models = Catalogue.packaged()
    # A model the packaged table does not know and that is no typo of one may be newer than
    # it: submit checks it against the API's own catalogue.
    newer = models.find(spec.model) is None and models.near_miss(spec.model) is None
    rules = Rules(models=models, allow_unknown_model=spec.allow_unknown_model, flags=spec.flags)
    for violation in rules.check(sample):
        if not violation.warning and not (newer and violation.rule == "model-known"):
            option = spec.flags["model" if violation.field == "model" else "max_tokens"]
            raise UsageError(f"{option}: {violation.message}", hint=violation.hint(spec.flags))


def _open_source(
    source: str, stdin: IO[bytes] | None, files: str
) -> tuple[str, IO[bytes], bool]:
    """``(display name, binary stream, close it?)``."""
    if source == "-":
        if stdin is None:
            raise UsageError("no standard input to read")
        return "<stdin>", stdin, False
    try:
        return source, open(source, "rb"), True  # closed by the caller
    # A FILE argument that cannot be opened is a usage error (exit 2), as with submit and run;
    # exit 3 is for what is inside a file that was read.
    except FileNotFoundError:
        raise UsageError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{source}: is a directory", hint=f"use {files} 'DIR/*.txt'") from None
    except OSError as exc:
        raise UsageError(f"{source}: cannot be read: {exc.strerror}") from None


def _from_lines(
    spec: PrepareSpec, name: str, stream: IO[bytes], ids: Ids, problems: Problems
) -> Iterator[bytes]:
    prefix = "line-" if spec.id_prefix is None else spec.id_prefix
    for line_no, raw in physical_lines(stream):
        loc = f"{name}:{line_no}"
        text = decode(raw, loc, problems)
        if text is None:
            continue
        text = text.strip()
        if not text:
            continue
        wanted = f"{prefix}{line_no}"
        custom_id = ids.take(wanted, loc, fallback=f"line-{line_no}")
        yield request_line(spec, custom_id, fill(spec.template, {"text": text}))


def match_files(pattern: str) -> list[str]:
    """Regular files matching ``pattern`` (``**`` recurses), sorted."""
    paths = glob.glob(os.path.expanduser(pattern), recursive=True)
    return sorted(p for p in paths if os.path.isfile(p))


def _file_id_base(path: str, root: str) -> str:
    rel = os.path.relpath(path, root) if root else path
    stem, _ = os.path.splitext(rel)
    return stem.replace(os.sep, "_")


def _from_files(
    spec: PrepareSpec, ids: Ids, problems: Problems
) -> Iterator[bytes]:
    assert spec.files_glob is not None
    paths = match_files(spec.files_glob)
    if not paths:
        raise UsageError(  # like a FILE argument that names no file: exit 2
            f"{spec.flags['files_glob']} {spec.files_glob!r}: no file matches",
            hint=f"quote the pattern so batchctl expands it: {spec.flags['files_glob']} "
            "'docs/**/*.txt'",
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
        if data.startswith(BOM):
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
    spec: PrepareSpec, *, stdin: IO[bytes] | None = None, remember_in: Path | None = None,
) -> Events[Prepared]:
    """The request file for ``spec``, yielded as ``Data`` (blocks of JSON lines); returns what
    was made.

    Raises `UsageError` (exit 2) for bad options or a CSV column that is not in the header, and
    `InputError` (exit 3) with every problem as ``FILE:LINE: message`` after reading the whole
    input; the caller must then discard what it was given. With ``remember_in`` (the state
    directory), a request file made from a CSV file is remembered for ``results --join``
    (``batchctl.core.requests.provenance``). A ``.csv`` file without ``--column`` is read as
    CSV all the same (``prepare_csv.column_for``).
    """
    spec = column_for(spec)
    check_spec(spec)
    remember = remember_in is not None and spec.mode == "csv" and spec.source not in (None, "-")
    digest = hashlib.sha256() if remember else None
    result = Prepared(mode=spec.mode)
    ids = Ids(result)
    problems = Problems()
    if spec.mode == "files":
        yield from _drain(_from_files(spec, ids, problems), result, digest)
        problems.raise_if_any(f"{spec.flags['files_glob']} {spec.files_glob}")
    else:
        assert spec.source is not None
        name, stream, close = _open_source(spec.source, stdin, spec.flags["files_glob"])
        try:
            make = from_csv if spec.mode == "csv" else _from_lines
            yield from _drain(make(spec, name, stream, ids, problems), result, digest)
        finally:
            if close:
                stream.close()
        problems.raise_if_any(name)
    if not result.requests:
        where = spec.files_glob if spec.mode == "files" else name
        raise InputError(f"{where}: no prompts: the input is empty or has only blank lines")
    if digest is not None:
        assert remember_in is not None and spec.source is not None
        provenance.remember(remember_in, digest.hexdigest(), {
            "source": os.path.abspath(spec.source),
            "source_sha256": provenance.file_sha256(spec.source),
            "column": spec.column,
            "id_column": spec.id_column,
            "id_prefix": spec.id_prefix,
            "ids_changed": bool(result.renamed or result.deduplicated),
        })
    return result


def _drain(lines: Iterable[bytes], result: Prepared, digest: Any) -> Iterator[Data]:
    """The lines in blocks of about BLOCK bytes, counted (and hashed, with ``digest``)."""
    block: list[bytes] = []
    size = 0
    for line in lines:
        if digest is not None:
            digest.update(line)
        block.append(line)
        size += len(line)
        result.requests += 1
        if size >= BLOCK:
            yield Data(b"".join(block))
            block, size = [], 0
    if block:
        yield Data(b"".join(block))
