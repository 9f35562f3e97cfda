"""Results summaries where CI systems look: a GitHub step summary (Markdown), a JSON file.

``GITHUB_STEP_SUMMARY`` names a file that GitHub Actions renders on the run's page; a step
appends Markdown to it ("Adding a job summary", https://docs.github.com/en/actions/reference/
workflows-and-actions/workflow-commands#adding-a-job-summary). ``results --summary-json FILE``
writes the same figures (``Summary.as_dict``) as JSON for other CI systems.

Strings that come from the server (error types, model names) are reduced to plain characters
before they reach the Markdown, so a reply cannot inject markup into the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from batchctl.core.atomic import atomic_file
from batchctl.core.errors import UsageError
from batchctl.core.events import WARN, Events, Note
from batchctl.core.plural import usd
from batchctl.core.results.caching import cache_lines
from batchctl.core.results.summary import STOP_REASONS

if TYPE_CHECKING:
    from batchctl.core.deps import Deps
    from batchctl.core.results.options import Options
    from batchctl.core.results.summary import Summary

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"  # named in messages; the caller reads it
_PLAIN = re.compile(r"[^A-Za-z0-9_.:/ -]+")


def _plain(text: Any) -> str:
    return _PLAIN.sub("_", str(text))[:200]


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "-"


def markdown(title: str, data: Mapping[str, Any], fmt: str | None = None) -> str:
    """One summary (``Summary.as_dict()``) as a Markdown section."""
    counts = data.get("counts") or {}
    lines = [f"### {_plain(title)}", "", "| result | count |", "|---|---:|"]
    for kind, count in counts.items():
        if count or kind in ("succeeded", "errored", "canceled", "expired"):
            lines.append(f"| {_plain(kind)} | {_n(count)} |")
    lines += [f"| succeeded, stop_reason {reason} | {_n(data[reason])} |"
              for reason in STOP_REASONS if data.get(reason)]
    lines += [
        "",
        f"**Tokens:** {_n(data.get('input_tokens'))} input, {_n(data.get('output_tokens'))} "
        f"output, {_n(data.get('cache_creation_input_tokens'))} cache write, "
        f"{_n(data.get('cache_read_input_tokens'))} cache read",
    ]
    cost = data.get("est_cost_usd")
    if cost is not None:
        lines.append(f"**Estimated cost:** {usd(cost)} at batch rates (prices as of "
                     f"{_plain(data.get('prices_as_of'))})")
    unpriced = data.get("unpriced_models") or []
    if unpriced:
        lines.append("**No price for:** " + ", ".join(_plain(m) for m in unpriced))
    named = [{**g, "model": _plain(g["model"]), "first_custom_id": _plain(g["first_custom_id"])}
             for g in data.get("cache_groups") or []]  # the user's and the server's text
    cached = cache_lines({**data, "cache_groups": named})
    if cached:
        lines += ["", *(f"{'- ' if n else ''}**{label.capitalize()}:** {text}"
                        for n, (label, text) in enumerate(cached))]
    errors = data.get("error_types") or {}
    if errors:
        lines += ["", "| error type | results |", "|---|---:|"]
        lines += [f"| {_plain(k)} | {_n(v)} |" for k, v in errors.items()]
    path = data.get("path")
    if path:
        where = f"`{str(path).replace('`', '')}`"
        lines += ["", f"**Output:** {where} ({fmt or 'jsonl'}, {_n(data.get('bytes'))} bytes)"]
    return "\n".join(lines) + "\n\n"


def append_step_summary(text: str, target: Path) -> None:
    """Append ``text`` to the GitHub step summary file ``target`` (OSError if it cannot)."""
    with open(target, "a", encoding="utf-8") as f:
        f.write(text)


def check_json_target(path: Path, name: str = "summary_json") -> None:
    """A usage error (before anything is fetched) if ``--summary-json`` cannot be written
    (``name``: how the caller names that option)."""
    if not path.absolute().parent.is_dir():
        raise UsageError(f"{name} {path}: its folder does not exist")
    if path.is_dir():
        raise UsageError(f"{name} {path}: is a folder")


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """The summary as one JSON object, written atomically."""
    with atomic_file(Path(path).absolute()) as out:
        out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


def step_summary(
    title: str, data: Mapping[str, Any], fmt: str, target: Path | None
) -> Iterator[Note]:
    """Append a summary to the GitHub step summary file ``target`` (``$GITHUB_STEP_SUMMARY``,
    which the caller reads; None: not in GitHub Actions); one that cannot be appended to is a
    warning."""
    if target is None:
        return
    try:
        append_step_summary(markdown(title, data, fmt), target)
    except OSError as exc:
        yield Note(WARN, f"cannot append to ${STEP_SUMMARY_ENV}: {exc.strerror}")


@dataclass(frozen=True)
class ResultsRequest:
    """What the results step writes and where: ``options``; the ``title`` of its section in
    the GitHub step summary file ``step_summary`` (None: none); ``out`` (None: the bytes are
    yielded, for stdout); the ``summary_json`` file (None: none)."""

    options: Options
    title: str
    out: Path | None = None
    step_summary: Path | None = None
    summary_json: Path | None = None


def export_and_report(deps: Deps, ref: str, request: ResultsRequest) -> Events[Summary]:
    """The results step `results` and `run` share, whole: ``export`` the results of ``ref`` as
    ``request`` says (its events pass through), then ``ResultsWritten``, then the GitHub step
    summary and the ``summary_json`` file. A --summary-json that cannot be written is a usage
    error before anything is fetched."""
    from batchctl.core.results.export import ResultsWritten, export

    if request.summary_json is not None:
        check_json_target(request.summary_json, request.options.flags["summary_json"])
    summary = yield from export(deps.api(), deps.store(), ref, request.options, request.out)
    yield ResultsWritten(summary)
    data = summary.as_dict()
    yield from step_summary(request.title, data, request.options.format, request.step_summary)
    if request.summary_json is not None:
        write_json(request.summary_json, data)
    return summary
