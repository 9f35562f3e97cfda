"""The one owner of the terminal (gh's ``pkg/iostreams``): stdin, stdout and stderr, whether each
is a terminal, whether colour is wanted, the consoles that draw on them, and what ``-`` names on
a command line.

Each decision is made once, when an ``IOStreams`` is built: ``BATCHCTL_FORCE_TTY`` (1, true or
yes: every stream is a terminal) and ``NO_COLOR`` (https://no-color.org: set and not empty) are
read there and nowhere else. Tests build one with the flags they want, or ``IOStreams.test()``:
three in-memory buffers and no terminal.

The streams themselves are looked up when used, not when built, unless given: Click's and
Typer's test runners swap ``sys.stdout`` and friends around each invocation, and what batchctl
writes must land in what they capture.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

if TYPE_CHECKING:
    from rich.console import Console

FORCE_TTY_ENV = "BATCHCTL_FORCE_TTY"
NO_COLOR_ENV = "NO_COLOR"
_YES = frozenset({"1", "true", "yes"})
#: What a file argument names the standard stream with (stdin for an input, stdout for -o).
STD = "-"


def names_std(value: str | Path | None) -> bool:
    """Whether a file argument (``-o -``, ``submit -``, ``state export -``) names the standard
    stream rather than a file: the one place a ``-`` is recognised."""
    return value is not None and str(value) == STD


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class IOStreams:
    """stdin, stdout and stderr, and what batchctl decided about them.

    A stream left ``None`` is ``sys.stdin``/``sys.stdout``/``sys.stderr`` as it is when used; a
    TTY flag left ``None`` is decided here, once (forced, else the stream's ``isatty``). The
    flags are plain attributes: a test may set them afterwards, as with gh's ``SetStdoutTTY``."""

    def __init__(
        self,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        *,
        stdin_tty: bool | None = None,
        stdout_tty: bool | None = None,
        stderr_tty: bool | None = None,
        width: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.stdin_stream, self.stdout_stream, self.stderr_stream = stdin, stdout, stderr
        env = os.environ if env is None else env
        forced = env.get(FORCE_TTY_ENV, "").strip().lower() in _YES
        self.stdin_tty: bool = (forced or _isatty(self.stdin)) if stdin_tty is None else stdin_tty
        self.stdout_tty: bool = (forced or _isatty(self.stdout)) if stdout_tty is None else stdout_tty
        self.stderr_tty: bool = (forced or _isatty(self.stderr)) if stderr_tty is None else stderr_tty
        self.no_color: bool = env.get(NO_COLOR_ENV, "") != ""
        #: The consoles' width; None: the terminal's on one, unlimited off one (no folded lines).
        self.width = width
        self._consoles: dict[bool, Console] = {}

    @classmethod
    def test(cls, *, stdin: bytes = b"", tty: bool = False, width: int | None = 100) -> IOStreams:
        """gh's ``iostreams.Test()``: stdin holding ``stdin``, stdout and stderr in memory (read
        them with ``written``), no terminal unless ``tty``, no environment."""
        return cls(_buffer(stdin), _buffer(), _buffer(), stdin_tty=tty, stdout_tty=tty,
                   stderr_tty=tty, width=width, env={})

    # -- the streams ----------------------------------------------------------------------------
    @property
    def stdin(self) -> IO[str]:
        return self.stdin_stream if self.stdin_stream is not None else sys.stdin

    @property
    def stdout(self) -> IO[str]:
        return self.stdout_stream if self.stdout_stream is not None else sys.stdout

    @property
    def stderr(self) -> IO[str]:
        return self.stderr_stream if self.stderr_stream is not None else sys.stderr

    def stdin_bytes(self) -> BinaryIO:
        """stdin as bytes (a text-only stdin, as in some embeddings, is encoded as UTF-8)."""
        stream = getattr(self.stdin, "buffer", None)
        if stream is None:
            stream = io.BytesIO(self.stdin.read().encode("utf-8"))
        return cast(BinaryIO, stream)

    def written(self, *, stderr: bool = False) -> str:
        """What was written to an in-memory stdout (or stderr) of ``IOStreams.test()``."""
        stream = self.stderr if stderr else self.stdout
        stream.flush()
        return cast(io.BytesIO, cast(io.TextIOWrapper, stream).buffer).getvalue().decode("utf-8")

    # -- decisions ------------------------------------------------------------------------------
    def colour(self, *, stderr: bool = False) -> bool:
        """Whether what goes to stdout (or stderr) may be coloured: a terminal, and no NO_COLOR."""
        return (self.stderr_tty if stderr else self.stdout_tty) and not self.no_color

    @property
    def can_prompt(self) -> bool:
        """Someone can answer a question: stdin and stderr are terminals."""
        return self.stdin_tty and self.stderr_tty

    # -- writing --------------------------------------------------------------------------------
    def console(self, *, stderr: bool) -> Console:
        """The Rich console of stdout (data only) or stderr (progress, hints, warnings, errors),
        built once. Off a terminal: no colour, no wrapping, no escape codes at all."""
        if stderr not in self._consoles:
            from rich.console import Console

            tty = self.stderr_tty if stderr else self.stdout_tty
            self._consoles[stderr] = Console(
                # None: Rich looks sys.stdout/sys.stderr up on every write (test runners swap them)
                file=self.stderr_stream if stderr else self.stdout_stream,
                stderr=stderr,
                force_terminal=tty,
                no_color=not self.colour(stderr=stderr),
                color_system="auto" if tty else None,
                highlight=False,
                soft_wrap=not tty,
                width=self.width or (None if tty else 10_000),
                emoji=False,
            )
        return self._consoles[stderr]

    def write_bytes(self, chunks: Iterable[bytes]) -> int:
        """Copy raw bytes to stdout unchanged; returns the byte count. Text written before is
        flushed first, so the order holds."""
        out = self.stdout
        out.flush()
        buf = getattr(out, "buffer", None)
        total = 0
        for chunk in chunks:
            if buf is not None:
                buf.write(chunk)
            else:  # a text-only stdout (rare embedding): decode, never re-encode JSON
                out.write(chunk.decode("utf-8"))
            total += len(chunk)
        if buf is not None:
            buf.flush()
        return total

    def silence_stdout(self) -> None:
        """Point stdout's descriptor at /dev/null: the reader went away (``| head -1``), and the
        interpreter's last flush must not fail again."""
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass


def _buffer(data: bytes = b"") -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="", write_through=True)


# -- the streams of the command being run ---------------------------------------------------------
_CURRENT: ContextVar[IOStreams | None] = ContextVar("batchctl_iostreams", default=None)


@contextmanager
def running(streams: IOStreams) -> Iterator[IOStreams]:
    """Make ``streams`` those of the command run inside the block (see ``current``)."""
    token = _CURRENT.set(streams)
    try:
        yield streams
    finally:
        _CURRENT.reset(token)


def current() -> IOStreams:
    """The streams of the command being run (the root group sets them for each invocation; a
    caller outside one gets the process's own). For the writers that are handed around as plain
    callables (``output.write_bytes`` goes to core as ``write=``) and so take no context."""
    found = _CURRENT.get()
    return found if found is not None else IOStreams()
