"""A yes/no question on the terminal, read by batchctl itself.

click's ``confirm`` (through typer) turns Ctrl-C and Ctrl-D alike into ``Abort``, which exits 1:
the code of a bug. Here Ctrl-C (KeyboardInterrupt) propagates, for the caller to exit 130, and
Ctrl-D (end of input) is an answer: no.
"""

from __future__ import annotations

from typing import IO, Any

YES = ("y", "yes")
NO = ("", "n", "no")  # Enter alone takes the default: no


def ask_yes_no(err: Any, stdin: IO[str], question: str) -> bool:
    """Ask ``question`` on the stderr console ``err`` and read the answer from ``stdin`` (the
    IOStreams' stdin). End of input is no; another answer asks again."""
    while True:
        err.print(f"{question} [y/N]: ", end="", markup=False, highlight=False, soft_wrap=True)
        line = stdin.readline()
        if not line:  # Ctrl-D: end the prompt's line, as the terminal did not
            err.print()
            return False
        answer = line.strip().lower()
        if answer in YES or answer in NO:
            return answer in YES
        err.print("answer y or n", markup=False, highlight=False)
