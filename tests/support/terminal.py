"""batchctl in a real terminal: a process of its own (a fresh interpreter) on a pseudo-terminal
that is its controlling terminal, whose output is played on a screen (pyte, a VT100 emulator),
so a test asserts what a person would see: the lines left on the screen after redraws, a
resize, a Ctrl-C.

stdin and stderr are always the terminal; stdout is the terminal too, or a pipe (``stdout_tty
=False``) read apart, as a script would. Ctrl-C is typed (the terminal echoes ``^C`` and sends
SIGINT); a resize changes the terminal's size (the kernel sends SIGWINCH) and re-flows the
screen's lines as tmux, VTE or iTerm2 do (pyte alone only cuts them, as xterm does).
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyte

from tests.support.processes import batchctl_cmd, child_env


def _set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def _controlling() -> None:
    """In the child, after setsid: its stdin (the terminal) becomes its controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def reflowed(screen: pyte.Screen, columns: int) -> tuple[list[str], int, int]:
    """The screen's lines as a terminal that re-flows shows them at ``columns``: each line
    folded over as many rows as it now takes, the cursor moved with its line; the rows past
    the bottom scroll off the top. Returns the rows, and the cursor's row and column."""
    rows: list[str] = []
    cursor = (0, 0)
    for y, line in enumerate(screen.display):
        text = line.rstrip()
        if y == screen.cursor.y:
            text = text.ljust(screen.cursor.x)
            cursor = (len(rows) + screen.cursor.x // columns, screen.cursor.x % columns)
        rows += [text[i:i + columns] for i in range(0, len(text), columns)] or [""]
    while rows and not rows[-1].strip() and len(rows) - 1 > cursor[0]:
        rows.pop()
    drop = max(0, len(rows) - screen.lines)
    return rows[drop:], cursor[0] - drop, cursor[1]


class Terminal:
    """``batchctl ARGS`` against ``base_url`` on a ``columns`` x ``rows`` terminal."""

    def __init__(self, base_url: str, home: Path, *args: str, columns: int = 100, rows: int = 30,
                 stdout_tty: bool = True, **env: str) -> None:
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.ByteStream(self.screen)
        self.raw = b""  # every byte the terminal received
        self.shown: set[str] = set()  # every line the screen showed at some moment
        self._lock = threading.Lock()
        leader, follower = os.openpty()
        _set_size(follower, columns, rows)
        full_env = child_env(home, TERM="xterm", **env)
        full_env.pop("COLUMNS", None)  # the terminal's own size, as an interactive shell has
        full_env.pop("LINES", None)
        self.proc = subprocess.Popen(
            batchctl_cmd(base_url, *args), stdin=follower, stderr=follower,
            stdout=follower if stdout_tty else subprocess.PIPE, env=full_env, cwd=home.parent,
            start_new_session=True, preexec_fn=_controlling,
        )
        os.close(follower)
        self._leader = leader
        self._stdout = b""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._pipe: threading.Thread | None = None
        if not stdout_tty:
            self._pipe = threading.Thread(target=self._read_stdout, daemon=True)
            self._pipe.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._leader, 65536)
            except OSError:  # EIO: the child closed its end
                return
            if not chunk:
                return
            with self._lock:
                self.raw += chunk
                for piece in re.split(rb"(?=\r)", chunk):  # a redraw starts at a carriage
                    self._stream.feed(piece)  # return: every frame is seen, however brief
                    self.shown.update(line.rstrip() for line in self.screen.display)

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        self._stdout = self.proc.stdout.read()

    # -- what a person sees ---------------------------------------------------------------------
    def lines(self) -> list[str]:
        """The screen's lines, trailing blanks trimmed, blank lines at the bottom left out."""
        with self._lock:
            shown = [line.rstrip() for line in self.screen.display]
        while shown and not shown[-1]:
            shown.pop()
        return shown

    def text(self) -> str:
        return "\n".join(self.lines())

    def wait_for(self, seen: str | Callable[[str], bool], timeout: float = 60) -> str:
        """The screen's text once it shows ``seen`` (a substring, or a test of the text)."""
        test = seen if callable(seen) else (lambda text: seen in text)
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            if test(text):
                return text
            if self.proc.poll() is not None and not self._reader.is_alive():
                raise AssertionError(f"batchctl ended ({self.proc.returncode}) first:\n{text}")
            assert time.monotonic() < deadline, f"not seen in {timeout} s: {seen!r}\n{text}"
            time.sleep(0.05)

    # -- what a person does ---------------------------------------------------------------------
    def resize(self, columns: int, rows: int) -> None:
        """The window resized: the screen re-flowed to the new size, then the terminal's size
        changed (the kernel sends SIGWINCH)."""
        with self._lock:
            lines, y, x = reflowed(self.screen, columns)
            self.screen = pyte.Screen(columns, rows)
            self._stream = pyte.ByteStream(self.screen)
            self._stream.feed("\r\n".join(lines).encode() + f"\x1b[{y + 1};{x + 1}H".encode())
        _set_size(self._leader, columns, rows)

    def ctrl_c(self) -> None:
        """Ctrl-C typed: the terminal echoes ``^C`` and sends SIGINT to the process."""
        os.write(self._leader, b"\x03")

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """Its exit code, the screen's text at the end, and what went to a piped stdout."""
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:  # pragma: no cover - only when it hung
                self.proc.kill()
        self._reader.join(timeout=10)
        if self._pipe is not None:
            self._pipe.join(timeout=10)
        os.close(self._leader)
        return code, self.text(), self._stdout.decode()
