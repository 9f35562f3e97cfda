"""The request lines behind a tracked batch: the recorded file, checked, and its line range.

The state store records, for every batch, the absolute path of the request file that produced
it, the file's sha256 and size, and the batch's line range and byte offsets. Result ordering
(``results --order input``) and ``retry-failed`` both read those lines back; both go through
here, so both refuse a file that changed since it was submitted (StateError, exit 7).
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from batchctl.core.errors import StateError
from batchctl.core.flags import KEYS, Flags
from batchctl.core.requests.linesets import line_set
from batchctl.core.requests.scan import Part, iter_lines

if TYPE_CHECKING:
    from batchctl.core.caching.groups import ResultGroups
    from batchctl.core.caching.place import CachePlan
    from batchctl.core.state.store import Store


def _changed(row: Mapping[str, Any], detail: str, flags: Flags) -> StateError:
    return StateError(
        f"the request file of batch {row['id']}, {row['request_file']}, {detail}",
        hint="batchctl reads the requests back from the file that was submitted; restore it "
        "(the same bytes) to use it, or give a copy with the same sha256 to `retry-failed "
        f"{flags['request_file']} FILE`",
    )


def _missing(row: Mapping[str, Any], detail: str, flags: Flags) -> StateError:
    """The file is not readable here: say where it was submitted from, if elsewhere (a store
    shared by several machines records each batch's host)."""
    host, here = row.get("source_host"), socket.gethostname()
    if not host or host == here:
        return _changed(row, detail, flags)
    return StateError(
        f"the request file of batch {row['id']}, {row['request_file']}, {detail} on this host "
        f"({here}): it was submitted from {host}",
        hint=f"copy it here (sha256 {row['sha256']}) and give the copy to `retry-failed "
        f"{flags['request_file']} FILE`, or run this on " + str(host),
    )


class FileChecks:
    """The sha256 of each request file read in one command, and whether its bytes hold a
    ``cache_control`` key anywhere, both from one read (the parts of a job share one file, and
    the order, the checks and the summary's cache groups all ask): a file is read once."""

    BLOCK = 1 << 20

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int], tuple[str, bool]] = {}
        self._marked: dict[str, bool] = {}

    def of(self, path: Path, size: int) -> tuple[str, bool]:
        """``(sha256, marked)`` of the file at ``path`` of ``size`` bytes (OSError if it cannot
        be read)."""
        key = (os.fspath(path), size)
        known = self._seen.get(key)
        if known is None:
            known = self._seen[key] = _digest(path)
            self._marked[key[0]] = known[1]
        return known

    def marked(self, path: str) -> bool:
        """Whether a file checked in this command held a marker (True when not checked)."""
        return self._marked.get(os.fspath(Path(path)), True)


def _digest(path: Path) -> tuple[str, bool]:
    digest, marked, tail = hashlib.sha256(), False, b""
    with open(path, "rb") as f:
        while block := f.read(FileChecks.BLOCK):
            digest.update(block)
            if not marked:
                marked = _MARKER in tail + block[: len(_MARKER)] or _MARKER in block
                tail = block[-len(_MARKER) :]
    return digest.hexdigest(), marked


def check_file(
    row: Mapping[str, Any], _seen: FileChecks | None = None, flags: Flags = KEYS
) -> Path:
    """The batch's request file, after checking its size and sha256 against the store.

    ``_seen`` keeps digests within one command (``FileChecks``: each file is read once);
    ``flags``: how the caller names the options its hints mention.
    """
    path = Path(row["request_file"])
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _missing(row, "no longer exists", flags) from None
    except OSError as exc:
        raise _missing(row, f"cannot be read: {exc.strerror or exc}", flags) from None
    if size != row["byte_size"]:
        raise _changed(
            row, f"changed since it was submitted: {size:,} bytes now, {row['byte_size']:,} then",
            flags,
        )
    try:
        digest, _ = (_seen or FileChecks()).of(path, size)
    except OSError as exc:
        raise _missing(row, f"cannot be read: {exc.strerror or exc}", flags) from None
    if digest != row["sha256"]:
        raise _changed(row, "changed since it was submitted (its sha256 differs)", flags)
    return path


def _part(row: Mapping[str, Any]) -> Part:
    only = row.get("only_lines")
    return Part(
        index=row["part"],
        first_line=row["first_line"],
        last_line=row["last_line"],
        start_offset=row["start_offset"],
        end_offset=row["end_offset"],
        request_count=row["request_count"],
        body_size=0,
        sha256=row["sha256"],
        only=None if only is None else line_set(only),  # a warm-up (core/requests/warmup.py)
        skip=line_set(row.get("skip_lines")),
    )


def iter_batch_lines(
    row: Mapping[str, Any], *, checked: bool = False, flags: Flags = KEYS,
) -> Iterator[tuple[int, str, bytes]]:
    """``(line_no, custom_id, line)`` for each request of a tracked batch, in file order.

    ``line`` is the request's line as written (stripped of surrounding whitespace). The file is
    checked first unless ``checked``. Only the custom_id of each line is looked at.
    """
    path = Path(row["request_file"]) if checked else check_file(row, flags=flags)
    for line_no, _text, line in iter_lines(os.fspath(path), _part_of(row)):
        custom_id = custom_id_of(line)
        if custom_id is None:
            raise _changed(row, f"has no request on line {line_no} any more", flags)
        yield line_no, custom_id, line


def ids_in_file_order(rows: Iterable[Mapping[str, Any]], flags: Flags = KEYS) -> Iterator[str]:
    """The custom_ids of tracked batches' requests in their request file's order: batches of
    one file (a job's parts, one after another) merged by line number, since a part may hold
    lines of others' ranges (a warm-up holds each cache group's first line: read part by part,
    "input order" put those first); the files in the order their batches come."""
    from heapq import merge
    from itertools import groupby

    for _file, group in groupby(rows, key=lambda row: row["request_file"]):
        parts = [iter_batch_lines(row, checked=True, flags=flags) for row in group]
        lines = parts[0] if len(parts) == 1 else merge(*parts, key=lambda item: item[0])
        for _line_no, custom_id, _line in lines:
            yield custom_id


_HEAD = b'{"custom_id":"'


def custom_id_of(line: bytes) -> str | None:
    """The custom_id of a request or results line (None if it has none); without parsing a
    large line when it starts the usual way."""
    if line.startswith(_HEAD) and line.count(b'"custom_id"') == 1:
        end = line.find(b'"', len(_HEAD))
        if end > 0:
            return line[len(_HEAD) : end].decode("utf-8", "replace")
    try:
        value = orjson.loads(line)["custom_id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


_MARKER = b'"cache_control"'


def cache_groups(rows: Sequence[Mapping[str, Any] | None],
                 table: Mapping[str, Any] | None = None,
                 plans: Mapping[str, CachePlan] | None = None,
                 seen: FileChecks | None = None) -> ResultGroups | None:
    """The cache group of each request of the batches ``rows`` (core/caching/groups.py), read
    from their request files, for a results summary priced with ``table``. None when a batch is
    not tracked or its file is gone or changed: the summary names no group then.

    The one place that says where a result's cache group comes from. A batch whose job recorded
    a cache plan (``plans``, by job id: ``recorded_plans``) gives ``add`` each body as sent,
    with the plan's marker (so it counts as a marked request), and the plan's group id as its
    ``key``: the summary's groups are the planned ones. Otherwise a group is what requests share
    before their messages; a file with no marker anywhere (the common case) is only scanned,
    not parsed: the read that checks its sha256 (``seen``, the command's ``FileChecks``) says
    so."""
    from batchctl.core.caching.groups import ResultGroups
    from batchctl.core.caching.place import place
    from batchctl.core.requests.check import to_request

    groups = ResultGroups(table)
    plans = plans or {}
    seen = seen or FileChecks()
    try:
        paths = [check_file(row, seen) if row is not None else None for row in rows]
    except StateError:
        return None
    if None in paths:
        return None
    if not any(r is not None and (r.get("job_id") in plans or _marked(r, seen)) for r in rows):
        return groups
    for row in rows:
        assert row is not None
        plan = plans.get(row.get("job_id") or "")
        for line_no, _text, line in iter_lines(row["request_file"], _part_of(row)):
            try:
                request = to_request(orjson.loads(line))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue  # not a request any more: the file was checked, so never here
            if type(request["custom_id"]) is not str:
                continue
            params, key = request["params"], None
            if plan is not None and type(params) is dict:
                placed = place(params, plan)
                params = placed.body
                key = None if placed.group is None else ("plan", row["job_id"], placed.group)
            groups.add(request["custom_id"], params, line_no, key=key)
    return groups


def recorded_plans(store: Store, rows: Sequence[Mapping[str, Any] | None]) -> dict[str, CachePlan]:
    """The cache plan recorded with each job of ``rows`` that has one, by job id."""
    from batchctl.core.requests.cacheplan import job_plan

    out: dict[str, CachePlan] = {}
    for job_id in dict.fromkeys(r.get("job_id") for r in rows if r is not None):
        job = store.get_job(job_id) if job_id else None
        plan = job_plan(job) if job is not None else None
        if plan is not None and job_id:
            out[job_id] = plan
    return out


def _part_of(row: Mapping[str, Any]) -> Part | None:
    return _part(row) if row.get("start_offset") is not None else None


def _marked(row: Mapping[str, Any], seen: FileChecks) -> bool:
    """Whether a line of the batch's part of its file holds a ``cache_control`` key (not when
    the whole file holds none: the common case, known from its check)."""
    return seen.marked(str(row["request_file"])) and any(
        _MARKER in line for _, _, line in iter_lines(row["request_file"], _part_of(row)))
