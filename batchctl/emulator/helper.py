"""A helper process that builds the tail of a large create's plan on a second core.

Parsing a create body (orjson) and building its plan (checks, reply seeds, hashes: Python, one
request at a time) hold the GIL, so threads cannot share them. For a large body received into a
file, the server hands the file to this helper (its descriptor, over a UNIX socket) before it
parses the body itself; the helper parses it too and builds the plan of the requests from
``split(n)`` on, while the server checks the envelope and builds the head. The two halves join
into exactly the plan one process would have built. Whenever the helper is busy, missing, slow
or fails, the server builds the tail itself: the helper only ever saves time.

The helper is started on first use (``python -c ...`` with this module), one per server
process, and exits when the server's end of the socket closes.
"""

from __future__ import annotations

import gc
import mmap
import os
import select
import socket
import struct
import subprocess
import sys
import threading
from typing import Any

import orjson

#: Bodies smaller than this are planned in one process (a helper round trip would not pay).
MIN_BYTES = 16 * 1024 * 1024
#: The share of the requests the server plans itself; it also checks the envelope meanwhile.
HEAD_SHARE = 0.55
#: How long the server waits for the tail beyond what it took to build the head, at most.
WAIT_SECONDS = 30.0
_HEADER = struct.Struct("!Q")


def split(count: int) -> int:
    return int(count * HEAD_SHARE)


# -- the helper process ----------------------------------------------------------------------


def _tail(fd: int, seed: int, api_version: str | None) -> bytes:
    from batchctl.emulator import outcomes

    with mmap.mmap(fd, 0, access=mmap.ACCESS_READ) as source, memoryview(source) as view:
        requests = orjson.loads(view)["requests"]
    items = [(item["custom_id"], item["params"]) for item in requests[split(len(requests)) :]]
    return outcomes.dump_plan(outcomes.static_plan(items, seed, api_version))


def main() -> None:  # pragma: no cover - runs in the helper process
    gc.disable()  # nothing it makes is cyclic; each job's objects are freed by reference counts
    channel = socket.socket(fileno=int(sys.argv[1]))
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(channel, 1 << 16, 1)
        except OSError:
            return
        if not message or not fds:
            return
        try:
            job = orjson.loads(message)
            reply = b"\x01" + _tail(fds[0], job["seed"], job["api_version"])
        except Exception as exc:  # noqa: BLE001 - any failure: the server builds the tail itself
            reply = b"\x00" + repr(exc).encode()
        finally:
            for fd in fds:
                os.close(fd)
        try:
            channel.sendall(_HEADER.pack(len(reply)) + reply)
        except OSError:
            return


# -- the server's side -----------------------------------------------------------------------


class Helper:
    """One helper process, used by one create at a time (others plan on their own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channel: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def _start(self) -> socket.socket:
        if self._channel is not None and self._process is not None and self._process.poll() is None:
            return self._channel
        self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        code = "from batchctl.emulator.helper import main; main()"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [_root(), os.environ.get("PYTHONPATH")])),
        }
        try:
            self._process = subprocess.Popen(  # our own interpreter and module
                [sys.executable, "-c", code, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
            )
        finally:
            theirs.close()
        self._channel = ours
        return ours

    def _stop(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None:  # it may be busy with a job nobody wants any more
            self._process.kill()
            self._process.wait()
            self._process = None

    def begin(self, fd: int, seed: int, api_version: str | None) -> Job | None:
        """Ask for the tail of the plan of the body in ``fd``; None if the helper is busy."""
        if not hasattr(socket, "send_fds") or not self._lock.acquire(blocking=False):
            return None  # no descriptor passing (Windows), or another create has the helper
        try:
            channel = self._start()
            message = orjson.dumps({"seed": seed, "api_version": api_version})
            socket.send_fds(channel, [message], [fd])
        except OSError:
            self._stop()
            self._lock.release()
            return None
        return Job(self, channel)

    def _finish(self, channel: socket.socket, ok: bool) -> None:
        if not ok:  # an unread or half-read reply: start afresh next time
            self._stop()
        self._lock.release()

    def close(self) -> None:
        with self._lock:
            self._stop()


class Job:
    def __init__(self, helper: Helper, channel: socket.socket) -> None:
        self._helper = helper
        self._channel = channel
        self._done = False

    def result(self, timeout: float = WAIT_SECONDS) -> list[Any] | None:
        """The tail of the plan, or None (the caller then builds it itself)."""
        ok = False
        try:
            header = self._read(_HEADER.size, timeout)
            reply = self._read(_HEADER.unpack(header)[0], timeout) if header else b""
            ok = bool(header) and len(reply) > 0
            if ok and reply[:1] == b"\x01":
                with memoryview(reply) as view:
                    return orjson.loads(view[1:])
            return None
        except (OSError, ValueError, struct.error):
            ok = False
            return None
        finally:
            self.cancel(ok)

    def cancel(self, ok: bool = False) -> None:
        if not self._done:
            self._done = True
            self._helper._finish(self._channel, ok)

    def _read(self, size: int, timeout: float) -> bytearray:
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            ready, _, _ = select.select([self._channel], [], [], timeout)
            if not ready:
                raise TimeoutError("the plan helper did not answer")
            count = self._channel.recv_into(view[got:])
            if not count:
                raise ConnectionError("the plan helper went away")
            got += count
        return buffer


def _root() -> str:
    """The directory holding the ``batchctl`` package, for a helper started from a checkout."""
    import batchctl

    return os.path.dirname(os.path.dirname(os.path.abspath(batchctl.__file__)))


_shared: Helper | None = None
_shared_lock = threading.Lock()


def shared() -> Helper:
    global _shared  # one helper per server process
    with _shared_lock:
        if _shared is None:
            _shared = Helper()
        return _shared
