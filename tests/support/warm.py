"""batchctl as a process of its own, forked from a warm interpreter instead of started cold.

A cold ``python -m batchctl`` spends ~1-2 s of CPU starting up and importing the SDK before it
does anything, and the crash and concurrency tests start dozens. Here one server process per
test process (started on first use) imports batchctl and the SDK once; for each command it
forks a child that sets the command's argv, environment, working directory and stdin, stdout
and stderr (the caller's descriptors, passed over a Unix socket), runs ``batchctl``'s ``main()``
and exits as the interpreter would (non-daemon threads joined, atexit handlers run, streams
flushed). The child is a real process: its own pid to signal or SIGKILL, its own SQLite and
PostgreSQL connections, which die with it.

What it cannot give is what a fresh interpreter reads while it starts or imports
(``_IMPORT_TIME``): a child whose environment differs from the server's there is refused, so a
test that needs one (``ANTHROPIC_LOG``, a ``sitecustomize``, which modules get loaded) starts
``python -m batchctl`` itself. The server is tests/support/warm_server.py.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.paths import ROOT

# Read at interpreter start or at import (anthropic/__init__.py: ANTHROPIC_LOG; typer/core.py and
# typer/rich_utils.py: TYPER_USE_RICH, TERMINAL_WIDTH, _TYPER_FORCE_DISABLE_TERMINAL): a warm
# child would not see a value of its own.
_IMPORT_TIME = ("ANTHROPIC_LOG", "TYPER_USE_RICH", "TERMINAL_WIDTH", "_TYPER_FORCE_DISABLE_TERMINAL")
_PYTHON_OK = ("PYTHONUNBUFFERED", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")



class Child:
    """A warm batchctl child, used like ``subprocess.Popen`` with stdout and stderr piped."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path | None, text: bool) -> None:
        socket_path = server()
        for key in {*env, *_server_env}:
            fresh = key in _IMPORT_TIME or (key.startswith("PYTHON") and key not in _PYTHON_OK)
            if fresh and env.get(key) != _server_env.get(key):
                raise ValueError(f"{key} is read when an interpreter starts: run python -m batchctl")
        self.args, self.text, self.returncode = args, text, None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        stdin = os.open(os.devnull, os.O_RDONLY)
        request = {"args": args, "env": env, "cwd": str(cwd or Path.cwd())}
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._conn.connect(socket_path)
        socket.send_fds(self._conn, [json.dumps(request).encode()], [stdin, out_w, err_w])
        for fd in (stdin, out_w, err_w):
            os.close(fd)
        self._reply = b""
        self.pid = int((self._message() or {})["pid"])
        self._out: dict[int, bytearray] = {out_r: bytearray(), err_r: bytearray()}
        self._fds = (out_r, err_r)
        self._open = set(self._fds)
        self._taken = {out_r: 0, err_r: 0}  # how much of each readline() has handed out

    def _message(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next line the child's monitor sent; None if none came within ``timeout``
        seconds (0: do not wait)."""
        self._conn.settimeout(timeout)
        try:
            while b"\n" not in self._reply:
                chunk = self._conn.recv(4096)
                if not chunk:
                    raise RuntimeError(f"the warm server went away ({self.args})")
                self._reply += chunk
        except (BlockingIOError, TimeoutError):
            return None
        finally:
            self._conn.settimeout(None)
        line, self._reply = self._reply.split(b"\n", 1)
        return dict(json.loads(line))

    def poll(self) -> int | None:
        """The exit code (negative: the signal that ended it), or None while it runs."""
        if self.returncode is None:
            self.returncode = (self._message(0) or {}).get("returncode")
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Its exit code, once it has exited (TimeoutExpired after ``timeout`` seconds)."""
        if self.returncode is None:
            message = self._message(timeout)
            if message is None:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            self.returncode = int(message["returncode"])
        return self.returncode

    def readline(self, *, stderr: bool = False) -> Any:
        """The next line of its stdout (or stderr), as it comes ("" at its end); communicate()
        then gives what follows."""
        fd = self._fds[1 if stderr else 0]
        data, taken = self._out[fd], self._taken[fd]
        while data.find(b"\n", taken) < 0 and fd in self._open:
            chunk = os.read(fd, 1 << 16)
            if chunk:
                data += chunk
            else:
                os.close(fd)
                self._open.discard(fd)
        end = data.find(b"\n", taken)
        end = len(data) if end < 0 else end + 1
        line, self._taken[fd] = bytes(data[taken:end]), end
        return line.decode() if self.text else line

    def communicate(self, timeout: float | None = None) -> tuple[Any, Any]:
        """Everything written to stdout and stderr once the child has exited (TimeoutExpired
        after ``timeout`` seconds: call again to go on reading)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            for fd in self._open:
                selector.register(fd, selectors.EVENT_READ)
            while self._open:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise subprocess.TimeoutExpired(self.args, timeout or 0)
                for key, _ in selector.select(left):
                    chunk = os.read(key.fd, 1 << 16)
                    if chunk:
                        self._out[key.fd] += chunk
                    else:
                        selector.unregister(key.fd)
                        os.close(key.fd)
                        self._open.discard(key.fd)
        self.wait()
        self._conn.close()
        out, err = (bytes(self._out[fd][self._taken[fd]:]) for fd in self._fds)
        return (out.decode(), err.decode()) if self.text else (out, err)

    def send_signal(self, number: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_SHIM = """#!{python} -IS
# batchctl for a shell in the tests: the command runs in a child of the warm server
# (tests/support/warm.py) on this process's stdin, stdout and stderr; its exit is this one's.
import json, os, signal, socket, sys
served = {served!r}  # what the server read as it started
if any((k in {import_time!r} or (k.startswith("PYTHON") and k not in {python_ok!r}))
       and os.environ.get(k) != served.get(k) for k in {{*os.environ, *served}}):
    os.execv({python!r}, [{python!r}, "-m", "batchctl", *sys.argv[1:]])  # a fresh one
conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
conn.connect({path!r})
request = {{"args": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}
socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
replies = conn.makefile("rb")
pid = json.loads(replies.readline())["pid"]
for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(number, lambda number, frame: os.kill(pid, number))
code = json.loads(replies.readline())["returncode"]
if code < 0:
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
"""


def bin_dir() -> Path:
    """A directory holding a ``batchctl`` that runs each command as a warm child: first on a
    shell's PATH, for tests of what a user types (a command that needs a fresh interpreter,
    ``ANTHROPIC_LOG=debug batchctl ...``, gets one)."""
    path = Path(server()).parent / "bin"
    shim = path / "batchctl"
    if not shim.exists():
        path.mkdir(exist_ok=True)
        served = {k: v for k, v in _server_env.items()
                  if k in _IMPORT_TIME or (k.startswith("PYTHON") and k not in _PYTHON_OK)}
        shim.write_text(_SHIM.format(python=sys.executable, path=server(), served=served,
                                     import_time=_IMPORT_TIME, python_ok=_PYTHON_OK))
        shim.chmod(0o755)
    return path


def spawn(args: list[str], env: dict[str, str], *, cwd: Path | None = None,
          text: bool = True) -> Child:
    """batchctl ``args`` in a warm child with exactly ``env`` (as ``subprocess.Popen`` is
    given it), stdin from /dev/null, stdout and stderr piped."""
    return Child(args, env, cwd, text)


def run(args: list[str], env: dict[str, str], *, cwd: Path | None = None,
        timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """``spawn`` to the end, as ``subprocess.run(..., capture_output=True, text=True)``."""
    child = spawn(args, env, cwd=cwd)
    try:
        out, err = child.communicate(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise
    return subprocess.CompletedProcess(["batchctl", *args], child.returncode, out, err)


_started: dict[int, str] = {}
_server_env: dict[str, str] = {}  # what the server was started with


def _stop(server: subprocess.Popen[bytes], where: Path) -> None:
    """Ask the server to end (EOF on its stdin), and wait for it: its time, and its children's,
    is then counted as this process's children's (what ``time`` reports for a test run). Then
    remove its directory (the socket, the shell's ``batchctl``)."""
    assert server.stdin is not None
    server.stdin.close()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    shutil.rmtree(where, ignore_errors=True)


def server() -> str:
    """The socket of this process's server, started on first use (~1-2 s: the imports; a forked
    test process, as xdist's workers are not, would start its own)."""
    if os.getpid() not in _started:
        path = Path(tempfile.mkdtemp(prefix="batchctl-warm-")) / "socket"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "BATCHCTL_"))}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "tests.support.warm_server", str(path)]
        _server_env.clear()
        _server_env.update(env)
        server = subprocess.Popen(command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  cwd=ROOT)
        assert server.stdout is not None and server.stdout.readline() == b"ready\n", "no server"
        atexit.register(_stop, server, path.parent)
        _started[os.getpid()] = str(path)
    return _started[os.getpid()]
