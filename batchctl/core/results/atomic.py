"""Atomic file writes: nothing half-written ever sits at the target path.

`atomic_file(target)` gives a binary file that is really a temp file beside the target
(``.NAME.<random>.<pid>.tmp``, same directory so the rename stays on one filesystem). On a
normal exit it is flushed, fsynced and renamed over the target (then the directory is fsynced);
on any exception, Ctrl-C or SIGTERM (turned into KeyboardInterrupt while the file is open) it is
removed and the target is left as it was. A process killed with SIGKILL cannot clean up: its
temp file stays beside the target (never at it), and the next write to the same target removes
temp files whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from batchctl.core.errors import StateError, UsageError

BUFFER = 1 << 20


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def sweep_stale(target: Path) -> list[Path]:
    """Remove temp files of ``target`` left by processes that no longer run; returns them."""
    pattern = re.compile(r"\." + re.escape(target.name) + r"\.[^.]+\.(\d+)\.tmp")
    removed: list[Path] = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = pattern.fullmatch(entry.name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While writing, SIGTERM unwinds like Ctrl-C does (so the temp file is removed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        # A BaseException, like Ctrl-C's: code that catches Exception (the SDK retries on any
        # Exception while it waits for an answer) must not swallow it.
        raise KeyboardInterrupt("terminated (SIGTERM)")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # pragma: no cover - no signals here (embedded interpreter)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class AtomicFile:
    """The open temp file. ``target`` may be changed, within the same directory, before the
    block ends (for a name that depends on the content, such as its sha256)."""

    def __init__(self, file: BinaryIO, tmp: Path, target: Path) -> None:
        self.file = file
        self.tmp = tmp
        self.target = target

    def write(self, data: bytes) -> int:
        return self.file.write(data)


@contextlib.contextmanager
def atomic_file(target: str | os.PathLike[str]) -> Iterator[AtomicFile]:
    """Write ``target`` all at once or not at all (see the module docstring).

    A target whose directory is missing or not writable is a UsageError (exit 2), raised before
    anything else happens; a write that fails part-way (disk full) is a StateError (exit 7).
    """
    target = Path(target)
    if target.is_dir():
        raise UsageError(f"cannot write {target}: it is a directory")
    sweep_stale(target)
    with _sigterm_raises():  # installed before the temp file exists, so it never outlives us
        try:
            fd, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=f".{os.getpid()}.tmp"
            )
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
        tmp = Path(name)
        try:
            mode = target.stat().st_mode & 0o777
        except OSError:
            mode = 0o666 & ~_umask()
        try:
            with os.fdopen(fd, "wb", buffering=BUFFER) as file:
                handle = AtomicFile(file, tmp, target)
                yield handle
                file.flush()
                os.fsync(file.fileno())
            if handle.target.parent != target.parent:
                raise ValueError("an atomic file can only be renamed within its directory")
            target = handle.target
            os.chmod(tmp, mode)
            os.replace(tmp, target)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if isinstance(exc, OSError):
                raise StateError(f"could not write {target}: {exc.strerror or exc}") from exc
            raise
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
