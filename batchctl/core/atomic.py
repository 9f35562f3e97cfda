"""Atomic file writes: nothing half-written ever sits at the target path.

`atomic_file(target)` gives a binary file that is really a temp file beside the target
(``.NAME.<random>.<pid>.tmp``, same directory so the rename stays on one filesystem). On a
normal exit it is flushed, fsynced and renamed over the target (then the directory is fsynced);
on any exception, Ctrl-C or SIGTERM (turned into KeyboardInterrupt while the file is open) it is
removed and the target is left as it was. A process killed with SIGKILL cannot clean up: its
temp file stays beside the target (never at it), and the next write to the same target removes
temp files whose process is gone.

Only a regular file is ever replaced. The target is resolved first (``resolve_target``): a
symlink is followed, hop by hop, and the file it leads to is the one replaced (the link stays); a
target that exists and is not a regular file (a device such as /dev/null, a FIFO, a terminal,
/dev/stdout or anything else under /proc/*/fd) is opened and written in place, as a shell's ``>``
would, because renaming over it would destroy it (as root, /dev/null for the whole machine). Such
a write cannot be undone part-way: what was written stays written.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from batchctl.core.errors import StateError, UsageError

BUFFER = 1 << 20
MAX_LINKS = 40  # symlink hops before giving up (Linux's own limit is 40)


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


@dataclass(frozen=True)
class Target:
    """Where an output's bytes land. ``path``: the file after following symlinks. ``in_place``:
    it exists and is not a regular file, so it is written where it is, never replaced.
    ``append``: it is a descriptor of this process (/dev/stdout, /proc/self/fd/N), opened to
    append so that what the shell already put there stays."""

    path: Path
    in_place: bool = False
    append: bool = False


def _is_fd_dir(folder: Path) -> bool:
    """/proc/<pid>/fd and the like: its entries are open descriptors, not files to replace."""
    real = Path(os.path.realpath(folder))
    return len(real.parts) > 1 and real.parts[1] == "proc"


def resolve_target(target: str | os.PathLike[str]) -> Target:
    """Follow ``target``'s symlinks to what would really be written (see the module docstring).

    A directory, or a link loop, is a UsageError (exit 2). A missing target (or a symlink to a
    missing file) is created, atomically, where it would be.
    """
    path = Path(os.path.abspath(target))
    for _ in range(MAX_LINKS):
        if _is_fd_dir(path.parent):
            return Target(path, in_place=True, append=True)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            return Target(path)
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
        if stat.S_ISLNK(info.st_mode):
            path = Path(os.path.abspath(path.parent / os.readlink(path)))
            continue
        if stat.S_ISDIR(info.st_mode):
            raise UsageError(f"cannot write {target}: it is a directory")
        return Target(path, in_place=not stat.S_ISREG(info.st_mode))
    raise UsageError(f"cannot write {target}: too many levels of symbolic links")


def check_target(target: str | os.PathLike[str]) -> Target:
    """``resolve_target``, and its folder exists: checked before anything is sent or fetched."""
    resolved = resolve_target(target)
    if not resolved.in_place and not resolved.path.parent.is_dir():
        raise UsageError(f"cannot write {target}: its folder does not exist")
    return resolved


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
    """The open temp file (``tmp`` None: the target itself, written in place). ``target`` may
    be changed, within the same directory, before the block ends (for a name that depends on
    the content, such as its sha256)."""

    def __init__(self, file: BinaryIO, tmp: Path | None, target: Path) -> None:
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
    A target that is not a regular file is written in place (``resolve_target``).
    """
    given = target
    resolved = resolve_target(target)
    if resolved.in_place:
        with _in_place(given, resolved) as handle:
            yield handle
        return
    target = resolved.path
    sweep_stale(target)
    with _sigterm_raises():  # installed before the temp file exists, so it never outlives us
        try:
            fd, name = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=f".{os.getpid()}.tmp"
            )
        except OSError as exc:
            raise UsageError(f"cannot write {given}: {exc.strerror or exc}") from None
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
                raise StateError(f"could not write {given}: {exc.strerror or exc}") from exc
            raise
    _fsync_dir(target.parent)


@contextlib.contextmanager
def _in_place(given: str | os.PathLike[str], target: Target) -> Iterator[AtomicFile]:
    """Write straight into a device, FIFO or descriptor (opening a FIFO waits for a reader)."""
    flags = os.O_WRONLY | (os.O_APPEND if target.append else 0)
    try:
        fd = os.open(target.path, flags)
    except OSError as exc:
        raise UsageError(f"cannot write {given}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb", buffering=BUFFER) as file:
            handle = AtomicFile(file, None, target.path)
            yield handle
            if handle.target != target.path:
                raise ValueError(f"{given} is not a regular file: it cannot be renamed")
            file.flush()
    except OSError as exc:
        raise StateError(f"could not write {given}: {exc.strerror or exc}") from exc


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
