"""The canary: each private name of the anthropic SDK that batchctl relies on
(``batchctl.core.api.sdk_private``), checked against the installed SDK. When a release moves one,
the test that fails names it; nothing else in the suite reaches into the SDK's private parts."""

from __future__ import annotations

import importlib
import inspect
import logging
from typing import Any

import anthropic

from batchctl.core.api import sdk_private
from batchctl.core.requests.ruletable import API_VERSION_2026, OLD_API_VERSION


def test_the_retry_log_is_the_sdks_request_loop_logger() -> None:
    module = importlib.import_module(sdk_private.SDK_LOGGER)  # the logger is named after its module
    logger = getattr(module, "log", None)
    assert isinstance(logger, logging.Logger), f"{sdk_private.SDK_LOGGER}.log moved"
    assert logger.name == sdk_private.SDK_LOGGER, f"the SDK now logs retries as {logger.name!r}"


def test_the_retry_line_is_the_one_the_sdk_writes() -> None:
    source = inspect.getsource(importlib.import_module(sdk_private.SDK_LOGGER))
    assert f'"{sdk_private.SDK_RETRY_MESSAGE}"' in source, (
        f"the SDK no longer logs {sdk_private.SDK_RETRY_MESSAGE!r} before a retry"
    )


def test_the_retry_line_is_logged_with_path_and_seconds(make_emulator: Any) -> None:
    """What the relay reads, seen from a real retry: a 500 answered, one retry."""
    emulator = make_emulator(fault_rate=1.0, seed=3)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger = logging.getLogger(sdk_private.SDK_LOGGER)
    handler, level = Keep(logging.INFO), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with emulator.client(max_retries=1) as client:
            try:
                client.messages.batches.list()
            except Exception:  # noqa: BLE001 - every attempt faults; only the log matters
                pass
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    retries = [r for r in seen if r.msg == sdk_private.SDK_RETRY_MESSAGE]
    assert len(retries) == 1, [r.getMessage() for r in seen]
    args = retries[0].args
    assert isinstance(args, tuple) and len(args) == 2 and isinstance(args[1], (int, float))


def test_the_strict_validation_keyword_is_accepted() -> None:
    params = inspect.signature(anthropic.Anthropic.__init__).parameters
    assert sdk_private.STRICT_VALIDATION in params, (
        f"anthropic.Anthropic no longer takes {sdk_private.STRICT_VALIDATION}"
    )


def test_the_default_api_version_is_where_we_read_it() -> None:
    assert sdk_private.sdk_api_version() in {OLD_API_VERSION, API_VERSION_2026}, (
        f"{'.'.join(sdk_private.API_VERSION_AT)} moved or holds an unknown version"
    )
