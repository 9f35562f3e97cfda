"""A hook's output, line by line, until its command has ended (``read_lines``).

A pipe reaches its end only once every process holding it has closed it, and a background
process a hook starts (``CMD &``) inherits the hook's stdout: reading to the end would wait as
long as it lives (a `collect` in cron hung with the hook's lock held). So once the command
itself has exited, the pipe is read for at most ``GRACE`` more seconds, then what it already
holds is drained, and the rest is left: batchctl does not wait for a hook's background
processes (README "Hooks"); the command's exit status alone says whether the hook succeeded.
POSIX only, as the hooks' ``/bin/sh`` is.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from collections.abc import Iterator

GRACE = 0.5  # seconds the output is still read for once the command has exited
TICK = 0.1  # how often a quiet pipe checks whether the command has exited
CHUNK = 65536
DRAIN = 1 << 20  # at most this many bytes read after the grace (a pipe holds 64 KiB on Linux)


def read_lines(proc: subprocess.Popen[bytes]) -> Iterator[bytes]:
    """The lines ``proc`` writes to its stdout, without their ``\\n``, in the order written,
    until the pipe's end or the grace after ``proc`` exited; the pipe is closed after."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pending = b""
    with proc.stdout, selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        for chunk in _chunks(proc, fd, selector):
            *lines, pending = (pending + chunk).split(b"\n")
            yield from lines
    if pending:
        yield pending


def _chunks(proc: subprocess.Popen[bytes], fd: int, selector: selectors.BaseSelector,
            ) -> Iterator[bytes]:
    deadline: float | None = None
    drained = 0
    while True:
        if deadline is None and proc.poll() is not None:
            deadline = time.monotonic() + GRACE
        late = deadline is not None and time.monotonic() >= deadline
        wait = TICK if deadline is None else max(0.0, deadline - time.monotonic())
        if not selector.select(0 if late else wait):
            if late:
                return  # the command has ended and nothing more is there now
            continue
        chunk = os.read(fd, CHUNK)
        if not chunk:
            return  # every writer closed the pipe
        yield chunk
        drained += len(chunk) if late else 0
        if drained >= DRAIN:
            return  # a background process still writing: what was there is read
