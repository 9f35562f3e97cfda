"""The warm server of tests/support/warm.py: ``python -m tests.support.warm_server SOCKET``.

It imports batchctl, the SDK and every command once, then serves on a Unix socket: for each
request (argv, environment, cwd as JSON, and three descriptors: stdin, stdout, stderr) it forks a
monitor, which forks the command and reports its pid, then its exit status. The server stays
single-threaded, so that forking it is safe; it ends when its stdin closes.
"""

from __future__ import annotations

import atexit
import io
import json
import locale
import os
import selectors
import signal
import socket
import sys
import threading
from typing import Any

import batchctl.cli.app
import batchctl.core.api.client

for _name in batchctl.cli.app.COMMANDS:  # and every command (the registry imports one a run)
    batchctl.cli.app.load_command(_name)


def stream(fd: int, mode: str, unbuffered: bool) -> io.TextIOWrapper:
    """sys.stdin, stdout or stderr on ``fd``, as a fresh interpreter makes them (stderr line
    buffered with backslashreplace; PYTHONUNBUFFERED writes through)."""
    raw = io.FileIO(fd, mode, closefd=False)
    encoding = locale.getencoding()
    if mode == "rb":
        return io.TextIOWrapper(io.BufferedReader(raw), encoding=encoding)
    errors = "backslashreplace" if fd == 2 else "strict"
    line = fd == 2 or os.isatty(fd)
    buffer: Any = raw if unbuffered else io.BufferedWriter(raw)
    return io.TextIOWrapper(buffer, encoding=encoding, errors=errors, line_buffering=line,
                            write_through=unbuffered)


def command(request: dict[str, Any], fds: list[int]) -> None:
    """In the forked command: become ``batchctl ARGS`` and exit as the interpreter would."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    unbuffered = bool(request["env"].get("PYTHONUNBUFFERED"))
    sys.stdin = sys.__stdin__ = stream(0, "rb", False)
    sys.stdout = sys.__stdout__ = stream(1, "wb", unbuffered)
    sys.stderr = sys.__stderr__ = stream(2, "wb", unbuffered)
    sys.argv = ["batchctl", *request["args"]]
    code = 0
    try:
        batchctl.cli.app.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - as the interpreter: the traceback, exit 1
        sys.excepthook(*sys.exc_info())
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # what the interpreter does at exit
    atexit._run_exitfuncs()
    for out in (sys.stdout, sys.stderr):
        try:
            out.flush()
        except Exception:  # noqa: BLE001 - as the interpreter: a failed flush is exit 120
            code = 120
    os._exit(code)


def monitor(conn: socket.socket, listener: socket.socket, request: dict[str, Any],
            fds: list[int]) -> None:
    """In the forked monitor: fork the command, tell its pid, wait, tell its exit status."""
    listener.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pid = os.fork()
    if pid == 0:
        conn.close()
        command(request, fds)
    for fd in fds:
        os.close(fd)
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    conn.sendall(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
    os._exit(0)


def reap(block: bool = False) -> None:
    """Wait for the monitors that have ended (all of them: ``block``), so that their time and
    their children's is counted as this process's children's."""
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(path: str) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    waiting = selectors.DefaultSelector()
    waiting.register(listener, selectors.EVENT_READ)
    waiting.register(0, selectors.EVENT_READ)  # the test process's pipe: EOF when it is done
    print("ready", flush=True)
    while True:
        ready = waiting.select(1.0)
        reap()
        if any(key.fd == 0 for key, _ in ready):
            reap(block=True)
            os._exit(0)
        if not ready:
            continue
        conn, _ = listener.accept()
        message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
        if os.fork() == 0:
            monitor(conn, listener, json.loads(message), fds)
        conn.close()
        for fd in fds:
            os.close(fd)


if __name__ == "__main__":
    serve(sys.argv[1])
