"""Check a whole request file, then submit it (never twice): the step `submit` and `run` share.

The file is checked in a forked child while this process loads the SDK (two cores; see
``batchctl.core.fork``), then ``batchctl.core.submit.submit.submit`` answers the job already
tracked for the same content or sends the parts.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from batchctl.core.deps import Deps
from batchctl.core.events import HINT, WARN, Checking, Events, Note
from batchctl.core.flags import KEYS, Flags
from batchctl.core.requests.cacheplan import Caching

if TYPE_CHECKING:  # importing the API layer loads anthropic (about a second)
    from batchctl.core.api.client import Api
    from batchctl.core.catalog.models import Catalogue
    from batchctl.core.requests.rules import Rules
    from batchctl.core.requests.scan import Scan
    from batchctl.core.submit.submit import SubmitResult

SPOOL_DIR = "inputs"
STDIN_NAME = "<stdin>"



@dataclass(frozen=True)
class Limits:
    """``--max-requests``, ``--max-bytes`` and ``--max-cost``, checked; ``flags``: how the
    caller names them, for messages."""

    max_requests: int
    max_bytes: int
    max_cost: float | None = None  # USD; None: no cap (batchctl.core.submit.spend)
    flags: Flags = field(default=KEYS, compare=False, repr=False)

    @classmethod
    def parse(
        cls, max_requests: int, max_bytes: str, max_cost: str | None = None, *,
        flags: Flags = KEYS, max_cost_from: str | None = None,
    ) -> Limits:
        """``max_cost_from``: how the caller names where the ``max_cost`` text came from when
        it is not the option itself (a variable of the environment)."""
        from batchctl.core.requests.scan import check_limits, parse_size
        from batchctl.core.submit.spend import parse_max_cost

        limit = parse_size(max_bytes)
        check_limits(max_requests, limit, flags)
        cost = parse_max_cost(max_cost, max_cost_from or flags["max_cost"])
        return cls(max_requests, limit, cost, flags)


@dataclass(frozen=True)
class Checks:
    """What each request is checked against (``--api-version``, ``--beta``, ``--limits``,
    ``--allow-unknown-model``, ``--lift-betas``) and ``--all-problems``."""

    rules: Rules | None = None  # None: the rules of the SDK's API version
    all_problems: bool = False
    base_url: str | None = None  # whose model catalogue to check against; None: the packaged one
    note: str | None = None  # why the catalogue is not the API's, fresh (batchctl.core.models)

    @classmethod
    def parse(
        cls, *, api_version: str | None = None, betas: Sequence[str] = (),
        limits: str | os.PathLike[str] | None = None, allow_unknown_model: bool = False,
        lift_betas: bool = False, all_problems: bool = False, flags: Flags = KEYS,
        base_url: str | None = None,
    ) -> Checks:
        """``flags``: how the caller names these options, for messages and hints."""
        from batchctl.core.requests.rules import build_rules

        rules = build_rules(api_version=api_version, betas=betas, limits=limits,
                            allow_unknown_model=allow_unknown_model, lift_betas=lift_betas,
                            flags=flags)
        return cls(rules, all_problems, base_url)

    def with_caching(self, caching: Caching) -> Checks:
        """These checks warning of markers under ``caching``'s minimums (``--cache-minimums``)."""
        import copy
        from dataclasses import replace

        from batchctl.core.requests.rules import Rules

        if caching.minimums_file is None:
            return self
        rules = copy.copy(self.rules or Rules())
        rules.cache_minimums = caching.minimums()
        return replace(self, rules=rules)

    def with_catalogue(self, deps: Deps) -> Checks:
        """These checks against the model catalogue of ``base_url`` (batchctl.core.models:
        cached in the store for a day)."""
        from batchctl.core.models.catalogue import current

        if self.base_url is None:
            return self
        found = current(deps, self.base_url)
        return self._against(found.catalogue, found.note)

    def at_hand(self, deps: Deps) -> Checks | None:
        """``with_catalogue`` when that asks the API nothing (no ``base_url``, or a catalogue
        cached under a day ago); None when it would."""
        from batchctl.core.models.catalogue import fresh

        if self.base_url is None:
            return self
        found = fresh(deps, self.base_url)
        return None if found is None else self._against(found.catalogue, found.note)

    def stand_in(self, deps: Deps) -> Checks:
        """These checks against what ``with_catalogue`` falls back to without the API."""
        from batchctl.core.models.catalogue import stand_in

        assert self.base_url is not None
        return self._against(stand_in(deps, self.base_url))

    def _against(self, catalogue: Catalogue, note: str | None = None) -> Checks:
        from dataclasses import replace

        from batchctl.core.requests.rules import Rules

        return replace(self, rules=(self.rules or Rules()).with_models(catalogue), note=note)

    @property
    def models_from(self) -> str:
        from batchctl.core.catalog.models import Catalogue

        return self.rules.models.describe() if self.rules else Catalogue.packaged().describe()


@dataclass(frozen=True)
class Input:
    """The file to check and the name its problems are reported under."""

    path: Path
    display: str
    source: str  # what the job records as its source: the path as given, or "-" for stdin


def file_input(file: str) -> Input:
    """A request file named on the command line (a usage error if it is not a file)."""
    from batchctl.core.errors import UsageError

    path = Path(file)
    if not path.exists():
        raise UsageError(f"{file}: no such file")
    if not path.is_file():
        raise UsageError(f"{file}: not a regular file")
    return Input(path, file, file)


def open_input(file: str, *, stdin: BinaryIO | None, state_dir: Path) -> Input:
    """The request file of submit and run: ``file``, or for ``-`` the ``stdin`` stream the
    caller opened, spooled to ``state_dir`` first."""
    if file != "-":
        return file_input(file)
    if stdin is None:
        raise ValueError("'-' names stdin, and no stdin stream was given")
    return stdin_input(stdin, state_dir)


def stdin_input(stream: BinaryIO, state_dir: Path) -> Input:
    """Requests read from stdin, spooled first (see ``spool``)."""
    return Input(spool(stream, state_dir), STDIN_NAME, "-")


def spool(stream: BinaryIO, state_dir: Path, chunk_size: int = 1 << 20) -> Path:
    """Copy ``stream`` (stdin) to ``state_dir/inputs/<sha256>.jsonl``, 0600, and return the path.

    Content-addressed, so the same input spools to the same file and can be re-read later
    (retries, retry-failed)."""
    Path(state_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = Path(state_dir) / SPOOL_DIR
    folder.mkdir(exist_ok=True, mode=0o700)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".stdin-", suffix=".part")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(chunk_size):
                digest.update(chunk)
                out.write(chunk)
        final = folder / f"{digest.hexdigest()}.jsonl"
        os.replace(tmp, final)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return final


def check(
    source: Input, limits: Limits, checks: Checks | None = None, *, cap: bool = True,
    caching: Caching | None = None,
) -> Scan:
    """The whole file checked against the rules and split (InputError with FILE:LINE problems
    if it is invalid; the scan's ``warnings`` for what is only doubtful), and its worst-case
    cost under ``--max-cost`` (SpendLimitError otherwise); with ``caching``, planned on the way
    (batchctl.core.requests.cacheplan)."""
    from batchctl.core.requests.scan import MAX_PROBLEMS, scan_file

    checks = checks or Checks()
    scan = scan_file(source.path, display_name=source.display,
                     max_requests=limits.max_requests, max_bytes=limits.max_bytes,
                     rules=checks.rules, max_problems=None if checks.all_problems else MAX_PROBLEMS,
                     caching=caching)
    if cap:
        _check_cap(scan, limits)
    return scan


def _check_cap(scan: Scan, limits: Limits) -> None:
    if limits.max_cost is not None:  # refused here, before anything is sent (exit 10)
        from batchctl.core.submit.spend import check_cap

        check_cap(limits.max_cost, scan.models, scan.input_tokens, scan.output_tokens,
                  limits.flags["max_cost"], scan.server_tools)


def dry_run(
    source: Input, limits: Limits, *, api: Api | None = None, checks: Checks | None = None,
    deps: Deps | None = None, caching: Caching | None = None,
) -> Events[dict[str, Any]]:
    """What a submit of ``source`` would send, with estimates. With ``api``
    (``--count-tokens``), input tokens are counted exactly by the API, once per distinct prompt
    (``batchctl.core.submit.tokens``, which yields how many are counted as it goes), and the
    models are checked against the API's catalogue as a submit does (cached in the store of
    ``deps``); otherwise there is no network call and no store: the models are checked against
    the packaged table, which says its date. Every request is planned for prompt caching
    (``caching``, whole): the summary's ``cache``; with ``api``, each group's prefix counted."""
    from dataclasses import replace

    from batchctl.core.submit.submit import dry_run_summary

    if checks is not None and deps is not None and api is not None:
        checks = checks.with_catalogue(deps)
    caching = replace(caching or Caching(), whole=True)
    scan = check(source, limits, checks, cap=api is None, caching=caching)
    if api is None:
        return _models_said(dry_run_summary(scan), checks)
    from batchctl.core.submit.tokens import count_input_tokens, count_prefixes

    counted, distinct = yield from count_input_tokens(api, source.path, source.display)
    scan = replace(scan, input_tokens=counted)
    if scan.cache is not None:
        scan = replace(scan, cache=(yield from count_prefixes(api, source.path, scan.cache,
                                                              caching)))
    _check_cap(scan, limits)
    return _models_said(dry_run_summary(scan, counted_prompts=distinct), checks)


def _models_said(summary: dict[str, Any], checks: Checks | None) -> dict[str, Any]:
    """The dry run's summary with the catalogue its models were checked against."""
    checks = checks or Checks()
    summary["models_from"] = checks.models_from
    if checks.note:
        summary["warnings"] = [checks.note, *summary["warnings"]]
    return summary


@dataclass(frozen=True)
class Submission:
    """What `submit` and `run` send: the request file, its limits and checks, and how the job
    is made (``label``, ``betas``, ``force``, ``max_queued``)."""

    source: Input
    limits: Limits
    checks: Checks | None = None
    label: str | None = None
    betas: Sequence[str] = ()
    force: bool = False
    max_queued: int | None = None
    caching: Caching = field(default_factory=Caching)  # --cache, --cache-minimums, --no-warmup
    warmup_timeout: float | None = None  # --warmup-timeout (s); None: feed.WARMUP_TIMEOUT


def send(deps: Deps, submission: Submission) -> Events[tuple[Scan, SubmitResult]]:
    """Check the whole input, then submit it (never twice); the scan's warnings and what the
    submit does on the way are yielded as notes."""
    from batchctl.core.fork import beside

    s = submission
    checks = (s.checks or Checks()).at_hand(deps)
    if checks is None:  # the catalogue is asked of the API meanwhile
        scan = yield from _check_while_asking(deps, s)
    else:
        if checks.note:
            yield Note(WARN, checks.note)
        # The file is checked in a forked child while this process loads the SDK (two cores).
        yield Checking(s.source.display, s.source.path.stat().st_size)
        scan = beside(lambda: check(s.source, s.limits, checks, caching=s.caching),
                      deps.preload_api)
    for warning in scan.warnings:
        yield Note(WARN, warning)
    if scan.cache is not None:
        from batchctl.core.catalog.prices import cost_summary

        written = cost_summary(scan.models, scan.input_tokens, scan.output_tokens,
                               scan.long_tokens)["est_cost_usd"]
        hint = scan.cache.hint(written, s.limits.flags)
        if hint is not None:
            yield Note(HINT, hint)
    from dataclasses import replace

    from batchctl.core.submit.submit import JobOptions, submit

    options = JobOptions(s.source.source, label=s.label, betas=s.betas, force=s.force,
                         max_queued=s.max_queued, flags=s.limits.flags)
    if s.warmup_timeout is not None:
        options = replace(options, warmup_timeout=s.warmup_timeout)
    result = yield from submit(deps.api(), deps.store(), scan, options, clock=deps.clock)
    return scan, result


def _check_while_asking(deps: Deps, s: Submission) -> Events[Scan]:
    """The check of a submit whose model catalogue must be asked of the API (none cached under
    a day): the child checks the file against the stand-in (what the catalogue falls back to)
    while this process loads the SDK and asks, so that neither waits for the other. Its scan
    stands when the answer says the same of every model it names (``_same_said``); else, or
    if the file was refused, the file is checked again here, against the answer."""
    from batchctl.core.errors import BatchctlError
    from batchctl.core.fork import beside

    checks = s.checks or Checks()
    guess, asked = checks.stand_in(deps), []

    def meanwhile() -> None:
        deps.preload_api()
        asked.append(checks.with_catalogue(deps))

    def work() -> tuple[Scan, bool]:  # the scan, and whether it used the answer
        return check(s.source, s.limits, asked[0] if asked else guess, caching=s.caching), \
            bool(asked)

    yield Checking(s.source.display, s.source.path.stat().st_size)
    try:
        scan, final = beside(work, meanwhile)
    except BatchctlError:
        scan, final = None, False
    answer: Checks = asked[0]
    if answer.note:
        yield Note(WARN, answer.note)
    if scan is None or not (final or _same_said(scan, guess, answer)):
        scan = check(s.source, s.limits, answer, caching=s.caching)
    return scan


def _same_said(scan: Scan, guess: Checks, answer: Checks) -> bool:
    """Whether checking against ``answer`` would have said what checking against ``guess`` said
    in ``scan`` (which refused nothing): every model it names is found, the same ModelInfo, in
    both, and neither retired nor deprecated (whose messages name other models); no warning
    names the guess's catalogue (core/requests/modelcheck.py: the only text it gives)."""
    assert guess.rules is not None and answer.rules is not None
    ours, theirs = guess.rules.models, answer.rules.models
    said = ours.describe()
    if said != theirs.describe() and any(said in w for w in scan.warnings):
        return False
    for model in scan.models:
        info = ours.find(model)
        if info is None or info != theirs.find(model) \
                or info.get("lifecycle") in ("retired", "deprecated"):
            return False
    return True
