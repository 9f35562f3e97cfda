"""Read, validate, convert and split request files, in one streaming pass.

A request file has one request per non-blank line, in either form:

* native: ``{"custom_id": ..., "params": {...}}``
* OpenAI-style: ``{"custom_id": ..., "method": "POST", "url": "/v1/messages", "body": {...}}``

`scan_file` reads the file once, line by line in binary (never whole), and returns everything a
submit needs: every problem as ``FILE:LINE: message`` (raised as `InputError`), the sha256 and
size of the file, the split into parts that fit one batch each (with the exact size of each
part's create body), and the facts a dry run shows.
The create body itself is streamed by `batchctl.core.requests.body`.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from batchctl.core.catalog.prices import estimate_input_tokens, long_prompt_limit, uses_server_tools
from batchctl.core.errors import InputError, StateError, UsageError
from batchctl.core.flags import KEYS, Flags
from batchctl.core.plural import counted
from batchctl.core.requests.cacheplan import AUTO, CacheSummary, Caching, Feed, candidates, encode
from batchctl.core.requests.check import check_request, is_verbatim, line_problem, to_request
from batchctl.core.requests.problems import Problems
from batchctl.core.requests.rules import FileChecks, Rules

if TYPE_CHECKING:
    from batchctl.core.caching.place import CachePlan

API_MAX_REQUESTS = 100_000
API_MAX_BYTES = 256_000_000  # the API's 256 MB; read as decimal, the smaller of the two readings
DEFAULT_MAX_REQUESTS = API_MAX_REQUESTS
DEFAULT_MAX_BYTES = 250_000_000  # a margin under the API's limit
MAX_PROBLEMS = 50

BODY_HEAD = b'{"requests":['
BODY_TAIL = b"]}"
BODY_OVERHEAD = len(BODY_HEAD) + len(BODY_TAIL)

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Part:
    """One batch's worth of a request file: lines ``first_line..last_line`` (1-based, inclusive),
    bytes ``start_offset..end_offset`` (end exclusive) of the file."""

    index: int
    first_line: int
    last_line: int
    start_offset: int
    end_offset: int
    request_count: int
    body_size: int
    sha256: str  # of the file's bytes start_offset..end_offset
    # Lines whose request is re-encoded (OpenAI-style, or extra top-level keys); the others
    # are copied into the body byte for byte.
    convert_lines: frozenset[int] = field(default=frozenset(), repr=False)
    # A warm-up (core/requests/warmup.py): ``only`` the lines of the range this part sends
    # (None: all of them), ``skip`` the lines of its range it leaves to the warm-up, ``after``
    # the part (the warm-up) it is sent after.
    only: frozenset[int] | None = field(default=None, repr=False)
    skip: frozenset[int] = field(default=frozenset(), repr=False)
    after: int | None = None

    def sends(self, line_no: int) -> bool:
        """Whether this part's body holds the request of line ``line_no`` of its range."""
        return (self.only is None or line_no in self.only) and line_no not in self.skip


@dataclass
class Scan:
    """What one pass over a valid request file found."""

    display_name: str
    path: str
    sha256: str
    byte_size: int
    request_count: int
    parts: list[Part]
    max_requests: int
    max_bytes: int
    models: dict[str, int]  # requests per model
    input_tokens: dict[str, int]  # estimated input tokens per model (characters / 4)
    output_tokens: dict[str, int]  # sum of max_tokens per model
    # per model, (input, output) tokens of the requests over its long-prompt limit (included
    # in the totals above): priced at the long-prompt rates
    long_tokens: dict[str, tuple[int, int]] = field(default_factory=dict)
    openai_style: int = 0  # requests given in the OpenAI-style form
    api_version: str = ""  # the anthropic-version whose rules were checked
    rules: list[str] = field(default_factory=list)  # ids of the rules checked
    warnings: list[str] = field(default_factory=list)  # FILE:LINE: message, nothing refused
    lifted_betas: list[str] = field(default_factory=list)  # betas lifted from params (--lift-betas)
    server_tools: int = 0  # requests with server tools: output can exceed max_tokens
    cache: CacheSummary | None = None  # prompt caching: the report, the plan placed (cacheplan)

    @property
    def est_input_tokens(self) -> int:
        return sum(self.input_tokens.values())

    @property
    def max_output_tokens(self) -> int:
        return sum(self.output_tokens.values())

    @property
    def boundaries(self) -> list[tuple[int, int]]:
        return [(p.first_line, p.last_line) for p in self.parts]


def parse_size(text: str) -> int:
    """``250MB`` -> 250,000,000; ``1MiB`` -> 1,048,576; ``10k`` -> 10,000; ``123`` -> 123."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)\s*", text, re.IGNORECASE)
    if not m or (m.group(3) and not m.group(2)):
        raise UsageError(f"invalid size {text!r}: use a number of bytes, or e.g. 10k, 250MB, 1MiB")
    number, unit, binary = float(m.group(1)), m.group(2).lower(), bool(m.group(3))
    power = " kmgt".index(unit) if unit else 0
    value = int(number * (1024 if binary else 1000) ** power)
    if value < 1:
        raise UsageError(f"invalid size {text!r}: must be at least 1 byte")
    return value


def check_limits(max_requests: int, max_bytes: int, flags: Flags = KEYS) -> None:
    """A usage error for limits the API would not take (named as ``flags`` says)."""
    if not 1 <= max_requests <= API_MAX_REQUESTS:
        raise UsageError(f"{flags['max_requests']} must be between 1 and {API_MAX_REQUESTS:,}")
    if not BODY_OVERHEAD < max_bytes <= API_MAX_BYTES:
        raise UsageError(f"{flags['max_bytes']} must be at most {API_MAX_BYTES:,} bytes (the "
                         "API's 256 MB)")


class _Splitter:
    """Cuts the stream of valid requests into parts as they come."""

    def __init__(self, max_requests: int, max_bytes: int) -> None:
        self.max_requests, self.max_bytes = max_requests, max_bytes
        self.parts: list[Part] = []
        self.count = 0
        self.pending: list[bytes] = []  # blank lines since the last request of the open part
        # the open part: first and last line, byte range, body size, hash, lines to convert
        self.first = self.last = self.start = self.end = self.size = 0
        self.hash = hashlib.sha256()
        self.convert: set[int] = set()

    def add(self, line_no: int, start: int, raw: bytes, size: int, convert: bool) -> None:
        if self.count and (
            self.count >= self.max_requests or self.size + 1 + size > self.max_bytes
        ):
            self.close()
        if not self.count:
            self.first, self.start, self.size = line_no, start, BODY_OVERHEAD + size
            self.hash, self.convert, self.pending = hashlib.sha256(), set(), []
        else:
            self.size += 1 + size
            for blank in self.pending:
                self.hash.update(blank)
            self.pending = []
        self.hash.update(raw)
        self.count += 1
        self.last, self.end = line_no, start + len(raw)
        if convert:
            self.convert.add(line_no)

    def blank(self, raw: bytes) -> None:
        if self.count:
            self.pending.append(raw)

    def close(self) -> None:
        if self.count:
            self.parts.append(
                Part(len(self.parts) + 1, self.first, self.last, self.start, self.end,
                     self.count, self.size, self.hash.hexdigest(), frozenset(self.convert))
            )
        self.count, self.pending = 0, []


def scan_file(
    path: str | os.PathLike[str],
    *,
    display_name: str | None = None,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_problems: int | None = MAX_PROBLEMS,
    rules: Rules | None = None,
    caching: Caching | None = None,
) -> Scan:
    """Validate, measure and split a request file in one streaming pass.

    Every request is checked against ``rules`` (default: those of the SDK's API version).
    With ``caching``, the requests feed a cache plan on the way (core/requests/cacheplan.py);
    when ``--cache auto`` places markers, the parts are cut again by the sizes placed, once the
    plan is known (a second read, of that case only: ``_placed_parts``).
    Raises `InputError` listing the problems as ``FILE:LINE: message``, one line per distinct
    message (``batchctl.core.requests.problems``: the first ``max_problems`` messages, all if
    None, and a count of the rest); `UsageError` for impossible limits.
    """
    rules = rules or Rules()
    checks = FileChecks(rules)
    check_limits(max_requests, max_bytes)
    path = os.fspath(path)
    name = display_name or path
    problems = Problems(name, max_problems)
    problem = problems.add

    # The file's sha256 is computed by a thread over large blocks (hashlib releases the GIL),
    # in parallel with the line-by-line pass below.
    file_hash: list = []
    hasher = threading.Thread(target=_hash_file, args=(path, file_hash), daemon=True)
    hasher.start()
    seen: dict[str, int] = {}
    models: dict[str, int] = {}
    tokens_in: dict[str, int] = {}
    tokens_out: dict[str, int] = {}
    long_tokens: dict[str, tuple[int, int]] = {}
    long_limits: dict[str, float] = {}
    splitter = _Splitter(max_requests, max_bytes)
    feed = Feed(caching) if caching is not None and caching.planning else None
    offset = line_no = openai_count = server_tools = first_server_tool = 0
    with open(path, "rb") as f:
        for raw in f:
            line_no += 1
            start = offset
            offset += len(raw)
            text = raw[3:] if line_no == 1 and raw.startswith(_BOM) else raw
            line = text.strip()
            if not line:
                splitter.blank(raw)
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                problem(line_no, line_problem(text, line, exc))
                continue
            custom_id, params, openai, found = check_request(obj)
            if params is not None and not found:
                found = checks.check(params, "body" if openai else "params", line_no)
            if custom_id is not None:
                first = seen.setdefault(custom_id, line_no)
                if first != line_no:
                    found.append(f'custom_id "{custom_id}" repeats line {first}')
            if found:
                for message in found:
                    problem(line_no, message)
                continue
            assert params is not None  # check_request found no problem
            verbatim = is_verbatim(obj) and "betas" not in params
            try:
                size = len(line) if verbatim else len(orjson.dumps(to_request(obj)))
                if feed is not None and feed.given is not None:  # a recorded plan, placed
                    marked = encode(line, feed.given)
                    if marked[1]:
                        size, verbatim = len(marked[0]), False
            except TypeError:  # orjson writes at most 254 levels; this line must be re-encoded
                problem(line_no, "request is nested too deeply to convert (over 254 levels)")
                continue
            if BODY_OVERHEAD + size > max_bytes:
                problem(line_no, f"request is {size:,} bytes: too big for one batch of at most "
                                 f"{max_bytes:,} bytes")
                continue
            openai_count += openai
            if ("tools" in params or "mcp_servers" in params) and uses_server_tools(params):
                server_tools += 1
                first_server_tool = first_server_tool or line_no
            model = params["model"]
            models[model] = models.get(model, 0) + 1
            est = estimate_input_tokens(params)
            if feed is not None:
                feed.add(params, line_no, est)
            tokens_in[model] = tokens_in.get(model, 0) + est
            tokens_out[model] = tokens_out.get(model, 0) + params["max_tokens"]
            limit = long_limits.get(model)
            if limit is None:
                limit = long_limits[model] = long_prompt_limit(model)
            if est > limit:  # billed at the model's long-prompt rates
                was = long_tokens.get(model, (0, 0))
                long_tokens[model] = (was[0] + est, was[1] + params["max_tokens"])
            splitter.add(line_no, start, raw, size, not verbatim)
    splitter.close()
    hasher.join()
    if isinstance(file_hash[0], BaseException):
        raise file_hash[0]
    digest, hashed_size = file_hash[0]
    if hashed_size != offset:
        raise StateError(f"{name} changed while it was being read", hint="Run the command again.")
    if not seen and not problems:
        problems.add_file("no requests: the file is empty or has only blank lines")
    if problems:
        raise InputError(
            f"{name}: {counted(problems.count, 'problem')}; nothing was submitted",
            problems=problems.lines(),
            more=problems.more,
        )
    summary = None
    if feed is not None:
        summary, plan = feed.finish()
        if feed.caching.mode == AUTO and plan is not None and plan.breakpoints \
                and summary.grouping is not None:
            convert = {n for part in splitter.parts for n in part.convert_lines}
            splitter = _placed_parts(path, name, digest, plan, candidates(summary.grouping) | convert,
                                     convert, _Splitter(max_requests, max_bytes))
            if feed.caching.warmup and summary.firsts:  # core/requests/warmup.py
                from batchctl.core.requests.warmup import warm_parts

                splitter.parts = warm_parts(path, splitter.parts, summary.firsts, plan,
                                            max_requests=max_requests,
                                            max_bytes=max_bytes) or splitter.parts
    return Scan(
        display_name=name,
        path=os.path.abspath(path),
        sha256=digest,
        byte_size=offset,
        request_count=sum(p.request_count for p in splitter.parts),
        parts=splitter.parts,
        max_requests=max_requests,
        max_bytes=max_bytes,
        models=models,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        long_tokens=long_tokens,
        openai_style=openai_count,
        api_version=rules.api_version,
        rules=[rule.id for rule in rules.rules],
        warnings=checks.warnings(name) + _server_tools_said(name, first_server_tool, server_tools,
                                                            rules.flags),
        lifted_betas=list(checks.lifted),
        server_tools=server_tools,
        cache=summary,
    )


def _placed_parts(path: str, name: str, digest: str, plan: CachePlan, touch: set[int],
                  convert: set[int], splitter: _Splitter) -> _Splitter:
    """The file cut again into parts by the sizes sent once ``plan`` places its markers: the
    lines in ``touch`` are encoded as they will be sent (``encode``, the sender's function),
    and those marked or in ``convert`` are re-encoded in the body; the rest are copied. The
    file must still be the one checked (its sha256 ``digest``)."""
    hashed = hashlib.sha256()
    for line_no, start, raw, line in _lines(path, hashed):
        if not line:
            splitter.blank(raw)
            continue
        size, reencode = len(line), line_no in convert
        if line_no in touch:
            body, marked = encode(line, plan)
            if marked or reencode:
                size, reencode = len(body), True
        if BODY_OVERHEAD + size > splitter.max_bytes:
            raise InputError(f"{name}:{line_no}: request is {size:,} bytes with its cache "
                             f"marker: too big for one batch of at most {splitter.max_bytes:,} bytes")
        splitter.add(line_no, start, raw, size, reencode)
    splitter.close()
    if hashed.hexdigest() != digest:
        raise StateError(f"{name} changed while it was being read", hint="Run the command again.")
    return splitter


def _lines(path: str, hashed: Any) -> Iterator[tuple[int, int, bytes, bytes]]:
    """``(line_no, start offset, raw line, stripped line)`` of every line (blank ones too)."""
    offset = line_no = 0
    with open(path, "rb") as f:
        for raw in f:
            hashed.update(raw)
            line_no += 1
            text = raw[3:] if line_no == 1 and raw.startswith(_BOM) else raw
            yield line_no, offset, raw, text.strip()
            offset += len(raw)


def _server_tools_said(name: str, first: int, count: int, flags: Flags) -> list[str]:
    """The warning for requests whose output can exceed max_tokens (BATCHES_API.md 12.6)."""
    if not count:
        return []
    more = f" (and {count - 1:,} more line{'s' * (count > 2)})" if count > 1 else ""
    return [f"{name}:{first}: server tools (or MCP servers) can call the model more than once, so "
            f"output can exceed max_tokens: cost estimates and {flags['max_cost']} are not upper bounds "
            f"for such requests{more}"]


def _hash_file(path: str, out: list) -> None:
    try:
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
            out.append((digest, f.tell()))
    except OSError as exc:
        out.append(exc)


def iter_lines(
    path: str | os.PathLike[str], part: Part | None = None, *, raw_hash: Any = None
) -> Iterator[tuple[int, bytes, bytes]]:
    """``(line_no, line, stripped_line)`` for every non-blank line of the file, or of one part
    (a BOM removed from the first line);
    ``raw_hash.update`` (a hashlib object) sees every byte read."""
    with open(path, "rb") as f:
        line_no, offset, end = 0, 0, None
        if part is not None:
            f.seek(part.start_offset)
            line_no, offset, end = part.first_line - 1, part.start_offset, part.end_offset
        for raw in f:
            if end is not None and offset >= end:
                break
            line_no += 1
            offset += len(raw)
            if raw_hash is not None:
                raw_hash.update(raw)
            text = raw[3:] if line_no == 1 and raw.startswith(_BOM) else raw
            line = text.strip()
            if line and (part is None or part.sends(line_no)):
                yield line_no, text, line
