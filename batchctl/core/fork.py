"""Do a CPU-bound step in a forked child while this process does other work, on two cores.

`submit` checks a whole request file (about 0.8 s per 100,000 requests) and must load the SDK
(about a second) before it can send anything. Both are CPU work in Python, so a thread gains
nothing under the GIL; a forked child checks the file while the parent imports the SDK, and
hands back the result (or the exception, InputError with its FILE:LINE problems included)
through a pipe, pickled. Where forking is not possible or not safe (no os.fork, one core, other
threads running that are not ``FORK_SAFE``), the two steps simply run one after the other.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
import warnings
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


#: The attribute by which a thread says that a fork may happen while it runs: it holds no lock
#: the child could need across a fork (the CLI's notice relay, batchctl.cli.render.events,
#: holds its writing off with ``os.register_at_fork``).
FORK_SAFE = "batchctl_fork_safe"


def can_fork() -> bool:
    """os.fork exists, there is a second core, and no other thread could hold a lock the child
    would need (forking a multi-threaded process can deadlock the child): every other thread
    says it is ``FORK_SAFE``."""
    me = threading.current_thread()
    return (
        hasattr(os, "fork")
        and (os.cpu_count() or 1) >= 2
        and all(t is me or getattr(t, FORK_SAFE, False) for t in threading.enumerate())
    )


def beside(work: Callable[[], T], meanwhile: Callable[[], object]) -> T:
    """``work()``'s result (or exception), computed in a child while ``meanwhile()`` runs here.

    If the child dies without an answer, ``work()`` runs here instead: the result is the same,
    only slower. An exception in ``meanwhile`` (Ctrl-C) ends the child first.
    """
    if not can_fork():
        meanwhile()
        return work()
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of any other thread: these are safe
        warnings.filterwarnings("ignore", r"This process .* is multi-threaded", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: compute, write the answer, leave without any cleanup of the parent's
        status = 0
        try:
            os.close(read_end)
            try:
                payload = pickle.dumps((True, work()), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # noqa: BLE001 - carried to the parent, raised there
                try:
                    payload = pickle.dumps((False, exc), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # noqa: BLE001 - unpicklable: the parent redoes the work
                    payload = b""
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        meanwhile()
    except BaseException:
        _reap(pid, read_end, kill=True)
        raise
    data = _reap(pid, read_end)
    if not data:
        return work()
    ok, value = pickle.loads(data)
    if ok:
        return value
    raise value


def _reap(pid: int, read_end: int, *, kill: bool = False) -> bytes:
    """Read the child's whole answer (unless killing it) and wait for it to exit."""
    data = b""
    try:
        if kill:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            with os.fdopen(read_end, "rb", closefd=False) as pipe:
                data = pipe.read()
    finally:
        os.close(read_end)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    return data
