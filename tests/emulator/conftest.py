"""Fixtures for the emulator's tests (the emulator itself is the suite's ``emulator`` /
``make_emulator``, in tests/support/fixtures.py): a real SDK client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def client(emulator: Any) -> Iterator[Any]:
    with emulator.client() as sdk:
        yield sdk
