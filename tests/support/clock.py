"""The fake clock: time moves only when someone sleeps or a test advances it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

START = 1_790_000_000.0  # 2026-09-21T...Z: a fixed "now" for every test


@dataclass
class FakeClock:
    """Wall-clock time that only moves when someone sleeps (or a test advances it).

    Shared by the CLI under test and the emulator, so `wait` runs in milliseconds.
    """

    now: float = START
    sleeps: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
