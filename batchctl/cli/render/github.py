"""GitHub Actions annotations for validation problems: ``::error file=F,line=N::message``.

With ``GITHUB_ACTIONS=true`` (set by the runner on every step), each ``FILE:LINE: message``
problem of an invalid input is also printed as a workflow command, so GitHub marks the line
in the run's annotations ("Setting an error message", https://docs.github.com/en/actions/
reference/workflows-and-actions/workflow-commands#setting-an-error-message). They go to stderr,
which the runner reads for commands as it does stdout, so stdout keeps only data. Values are
escaped as the runner's own toolkit does (``escapeData``/``escapeProperty`` in
actions/toolkit packages/core/src/command.ts): ``%``, CR and LF in the message; also ``:`` and
``,`` in properties.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

_PROBLEM = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<message>.*)$", re.DOTALL)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def github_errors(problems: Iterable[str]) -> Iterator[str]:
    """One ``::error`` command per problem; ``file``/``line`` when it names them."""
    for problem in problems:
        found = _PROBLEM.match(problem)
        if found is None:
            yield f"::error::{_data(problem)}"
        else:
            yield (f"::error file={_property(found['file'])},line={found['line']}::"
                   f"{_data(found['message'])}")
