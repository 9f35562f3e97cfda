"""Results summaries where CI systems look: a GitHub step summary (Markdown), a JSON file.

``GITHUB_STEP_SUMMARY`` names a file that GitHub Actions renders on the run's page; a step
appends Markdown to it ("Adding a job summary", https://docs.github.com/en/actions/reference/
workflows-and-actions/workflow-commands#adding-a-job-summary). ``results --summary-json FILE``
writes the same figures (``Summary.as_dict``) as JSON for other CI systems.

Strings that come from the server (error types, model names) are reduced to plain characters
before they reach the Markdown, so a reply cannot inject markup into the page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from batchctl.core.atomic import atomic_file
from batchctl.core.errors import UsageError
from batchctl.core.notify import Notify, quiet
from batchctl.core.results.summary import STOP_REASONS

if TYPE_CHECKING:
    from batchctl.core.deps import Deps
    from batchctl.core.results.options import Options
    from batchctl.core.results.reading import Progress
    from batchctl.core.results.summary import Summary

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
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
        lines.append(f"**Estimated cost:** ${cost:,.2f} at batch rates (prices as of "
                     f"{_plain(data.get('prices_as_of'))})")
    unpriced = data.get("unpriced_models") or []
    if unpriced:
        lines.append("**No price for:** " + ", ".join(_plain(m) for m in unpriced))
    errors = data.get("error_types") or {}
    if errors:
        lines += ["", "| error type | results |", "|---|---:|"]
        lines += [f"| {_plain(k)} | {_n(v)} |" for k, v in errors.items()]
    path = data.get("path")
    if path:
        where = f"`{str(path).replace('`', '')}`"
        lines += ["", f"**Output:** {where} ({fmt or 'jsonl'}, {_n(data.get('bytes'))} bytes)"]
    return "\n".join(lines) + "\n\n"


def append_step_summary(text: str) -> bool:
    """Append ``text`` to the GitHub step summary file, if ``GITHUB_STEP_SUMMARY`` names one.
    False when it is unset; an unwritable file is a warning's business, not an error's."""
    target = os.environ.get(STEP_SUMMARY_ENV)
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as f:
        f.write(text)
    return True


def check_json_target(path: Path) -> None:
    """A usage error (before anything is fetched) if ``--summary-json`` cannot be written."""
    if not path.absolute().parent.is_dir():
        raise UsageError(f"--summary-json {path}: its folder does not exist")
    if path.is_dir():
        raise UsageError(f"--summary-json {path}: is a folder")


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """The summary as one JSON object, written atomically."""
    with atomic_file(Path(path).absolute()) as out:
        out.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")


def step_summary(title: str, data: Mapping[str, Any], fmt: str, notify: Notify = quiet) -> None:
    """Append a summary to ``$GITHUB_STEP_SUMMARY`` when it is set (GitHub Actions); a file
    that cannot be appended to is a warning."""
    try:
        append_step_summary(markdown(title, data, fmt))
    except OSError as exc:
        notify("warn", f"cannot append to ${STEP_SUMMARY_ENV}: {exc.strerror}")


@dataclass(frozen=True)
class Output:
    """The caller's side of the results step: what to write (``options``) to ``out`` (None:
    through ``write``, stdout), the ``progress`` display entered for the export only (it gives
    the progress callback), and ``shown(summary)``, which shows the summary."""

    options: Options
    out: Path | None
    write: Callable[[Iterator[bytes]], object]
    progress: AbstractContextManager[Progress | None] | None = None
    shown: Callable[[Summary], object] = lambda summary: None


def export_and_report(
    deps: Deps,
    ref: str,
    output: Output,
    *,
    title: str,
    summary_json: Path | None = None,
    notify: Notify = quiet,
) -> Summary:
    """The results step `results` and `run` share, whole: ``export`` the results of ``ref`` as
    ``output`` says, then ``output.shown(summary)``, then the GitHub step summary titled
    ``title`` and the ``summary_json`` file. A --summary-json that cannot be written is a usage
    error before anything is fetched."""
    from batchctl.core.results.export import export

    if summary_json is not None:
        check_json_target(summary_json)
    with output.progress if output.progress is not None else nullcontext() as update:
        summary = export(deps.api(), deps.store(), ref, output.options, output.out,
                         write=output.write, notify=notify, progress=update)
    output.shown(summary)
    data = summary.as_dict()
    step_summary(title, data, output.options.format, notify)
    if summary_json is not None:
        write_json(summary_json, data)
    return summary
