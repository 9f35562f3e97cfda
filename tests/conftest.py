"""The suite's hooks, and its fixtures (defined in tests/support/fixtures.py) registered."""

from __future__ import annotations

import os

import pytest

from tests.support.fixtures import (  # noqa: F401 - fixtures
    _isolated_env,
    _no_trusted_cas,
    cli,
    clock,
    emulator,
    ended,
    ended_requests,
    hook,
    make_emulator,
    open_store,
    postgres_url,
    seven,
    state_dir,
    store_value,
    warm_server,
)

# The tests' temporary directories (tmp_path: state stores, emulator data, request and result
# files) on a tmpfs when the machine has one. batchctl syncs what it must not lose (SQLite's WAL
# switch and checkpoints, every atomic file and its directory), and on a disk shared with other
# work those syncs were most of a command test's wall time: test_status, test_submit,
# test_results, test_collect and the emulator's endpoint tests took 29-37 s on /tmp and 18 s on
# /dev/shm, with the same CPU time. No test checks what survives a power cut, which is all a
# sync adds. PYTEST_DEBUG_TEMPROOT is pytest's own setting for where tmp_path lives (numbered
# runs, the last three kept, as under /tmp); set it to choose another place.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", "/dev/shm")


def pytest_configure(config: pytest.Config) -> None:
    """With ``-n``, pytest-xdist hands each worker a long run of consecutive tests at first
    (a quarter of its share: ~88 here), so one worker got every reliability test and ran them
    alone for ~2 minutes while the other finished 20-30 s earlier and sat idle. One test at a
    time (``--maxschedchunk 1``; a worker still keeps two queued), in the order below, evens
    the workers out; the per-test cost of asking is negligible."""
    if getattr(config.option, "maxschedchunk", "absent") is None:  # xdist loaded, not given
        config.option.maxschedchunk = 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long checks (marked ``slow``) first, in their usual order: handed out one at a time
    they spread over the workers, and the short ones even out the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
