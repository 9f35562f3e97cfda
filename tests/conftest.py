"""The suite's hooks, and its fixtures (defined in tests/support/fixtures.py) registered."""

from __future__ import annotations

import pytest

from tests.support.fixtures import (  # noqa: F401 - fixtures
    _isolated_env,
    _no_trusted_cas,
    cli,
    clock,
    emulator,
    ended,
    ended_requests,
    make_emulator,
    open_store,
    postgres_url,
    seven,
    state_dir,
    store_value,
    warm_server,
)


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
