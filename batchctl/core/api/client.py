"""The Message Batches API as batchctl uses it: a thin wrapper over the official SDK.

It builds the client (from the environment, or with the emulator mounted in-process through the
SDK's ``http_client``), returns plain dicts with the API's field names, and turns every SDK error
into the batchctl error tree (``sdkerrors``). It does not re-implement the SDK: paging, retries
with backoff and ``retry-after`` are the SDK's. The client's transport carries the guards of
``guards`` (origin check, spend-limit stop, a refused connection failing at once).

Every batch the server describes is checked (``untrusted.check_batch``) before it is returned,
and every server message is made printable before it reaches an error.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import anthropic
import httpx2
from anthropic.types.messages import MessageBatch

from batchctl.core import errors, untrusted
from batchctl.core.api.guards import FailRefusedAtOnce, guard_hooks
from batchctl.core.api.sdkerrors import call
from batchctl.core.clock import Clock, SystemClock
from batchctl.core.settings import Settings

BATCHES_PATH = "/v1/messages/batches"
DEFAULT_MAX_RETRIES = 8  # 9 attempts: rides out ~50% failing calls (429/5xx/lost replies); create: 0
NOT_FOUND_BACKOFF = (1.0, 2.0, 4.0, 8.0, 15.0)  # then every 15 s, until the grace is spent
RESULTS_CHUNK = 1 << 16  # 64 KiB: what a cut download keeps; 1 MiB was no faster, 9-24 MB more RSS

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    has_more: bool
    first_id: str | None
    last_id: str | None


def batch_dict(batch: Any) -> dict[str, Any]:
    # warnings=False: pydantic would print a hostile value raw on stderr; check_batch judges it.
    return batch.model_dump(mode="json", warnings=False)


class _Body:
    """A create body re-read from its source on every iteration (so a retry sends it again)."""

    def __init__(self, chunks: Callable[[], Iterable[bytes]]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks())


class _RetryLog(logging.Handler):
    """Hands the SDK's own "Retrying request to URL in N seconds" log lines to a callback, so
    the CLI can say why it is waiting (with 8 retries, an unreachable API takes ~40 s)."""

    def __init__(self, on_retry: Callable[[float], None]) -> None:
        super().__init__(logging.INFO)
        self.on_retry = on_retry

    @classmethod
    def attach(cls, on_retry: Callable[[float], None]) -> _RetryLog:
        handler = cls(on_retry)
        logger = logging.getLogger(_SDK_LOGGER)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)  # its own handlers stay as ANTHROPIC_LOG set them
        logger.addHandler(handler)
        return handler

    def detach(self) -> None:
        logging.getLogger(_SDK_LOGGER).removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if (
            record.msg == _SDK_RETRY_MESSAGE and isinstance(args, tuple) and len(args) == 2
            and isinstance(args[1], (int, float))
        ):
            try:
                self.on_retry(float(args[1]))
            except Exception:  # noqa: BLE001 - a report must never break the call
                pass


_SDK_LOGGER = "anthropic._base_client"
_SDK_RETRY_MESSAGE = "Retrying request to %s in %f seconds"


class Api:
    """The Message Batches API as batchctl uses it. Build it with ``Api.connect``."""

    def __init__(
        self,
        client: anthropic.Anthropic,
        base_url: str,
        *,
        clock: Clock | None = None,
        on_retry: Callable[[float], None] | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> None:
        self._client = client
        self.base_url = base_url
        self.clock = clock or SystemClock()
        self._note = on_note or (lambda message: None)
        self._retry_log = None if on_retry is None else _RetryLog.attach(on_retry)

    @classmethod
    def connect(
        cls,
        settings: Settings,
        *,
        emulator_config: Any = None,
        clock: Clock | None = None,
        max_retries: int | None = None,
        environ: Mapping[str, str] | None = None,
        on_retry: Callable[[float], None] | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> Api:
        """``on_retry(seconds)``: the SDK is about to retry; ``on_note(text)``: a note for the
        user (a 404 being ridden out)."""
        env = os.environ if environ is None else environ
        retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
        clock = clock or SystemClock()
        client = _sdk_client(settings, emulator_config, clock, retries, env)
        return cls(client, settings.base_url, clock=clock, on_retry=on_retry, on_note=on_note)

    def close(self) -> None:
        if self._retry_log is not None:
            self._retry_log.detach()
            self._retry_log = None
        self._client.close()

    # -- batches ------------------------------------------------------------------------------
    def create(
        self, chunks: Callable[[], Iterable[bytes]], size: int, *, betas: Sequence[str] = (),
        api_version: str | None = None,
    ) -> dict[str, Any]:
        """POST a create body streamed from ``chunks()`` (``size`` bytes), with SDK retries OFF.

        A retried create can bill twice (no idempotency key), so the caller decides what to do
        after a failure: see batchctl.core.jobs.submit.
        """
        headers = {"Content-Type": "application/json", "Content-Length": str(size)}
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        if api_version:  # --api-version: replaces the SDK's default anthropic-version header
            headers["anthropic-version"] = api_version
        client = self._client.with_options(max_retries=0)
        batch = call(
            lambda: batch_dict(
                client.post(
                    BATCHES_PATH,
                    content=_Body(chunks),
                    cast_to=MessageBatch,
                    options={"headers": headers},
                )
            )
        )
        return untrusted.check_batch(batch)

    def _riding_404(self, call: Callable[[], T], what: str, grace: float) -> T:
        """``call()``, a 404 retried with backoff for up to ``grace`` seconds on the clock.

        The API can answer 404 for a batch that exists: a second after its create, mid-poll,
        and for its results just after it ended (anthropic-sdk-python#1432; every such batch
        completed). Callers give a grace only for a batch this store created."""
        deadline = self.clock.time() + grace
        for attempt in itertools.count():
            try:
                return call()
            except errors.NotFoundError:
                left = deadline - self.clock.time()
                if left <= 0:
                    raise
                if attempt == 0:
                    self._note(
                        f"the API answered 404 (not found) for {what}, which this store saw "
                        f"created: the API can lag (anthropic-sdk-python#1432); trying again "
                        f"for up to {left:.0f} s"
                    )
                self.clock.sleep(min(NOT_FOUND_BACKOFF[min(attempt, len(NOT_FOUND_BACKOFF) - 1)], left))
        raise AssertionError("unreachable")  # pragma: no cover

    def retrieve(self, batch_id: str, *, not_found_grace: float = 0.0) -> dict[str, Any]:
        """GET one batch. ``not_found_grace``: keep retrying a 404 for this many seconds (see
        ``_riding_404``)."""
        batch = self._riding_404(
            lambda: call(lambda: batch_dict(self._client.messages.batches.retrieve(batch_id))),
            f"batch {batch_id}",
            not_found_grace,
        )
        return untrusted.check_batch(batch, expected_id=batch_id)

    def list_page(
        self, *, limit: int = 20, after_id: str | None = None, before_id: str | None = None
    ) -> Page:
        kwargs: dict[str, Any] = {"limit": limit}
        if after_id:
            kwargs["after_id"] = after_id
        if before_id:
            kwargs["before_id"] = before_id
        page = call(lambda: self._client.messages.batches.list(**kwargs))
        return Page(
            data=[untrusted.check_batch(batch_dict(b)) for b in page.data],
            has_more=bool(page.has_more),
            first_id=_page_id(page.first_id),
            last_id=_page_id(page.last_id),
        )

    def iter_batches(self, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every batch, newest first, page by page (the SDK's own paging)."""
        after: str | None = None
        while True:
            page = self.list_page(limit=page_size, after_id=after)
            yield from page.data
            if not page.has_more or not page.data or not page.last_id:
                return
            after = page.last_id

    # -- token counting -----------------------------------------------------------------------
    def count_tokens(self, fields: Mapping[str, Any]) -> int:
        """Exact input tokens of one Messages request (``client.messages.count_tokens``, POST
        /v1/messages/count_tokens: free, https://docs.claude.com/en/docs/build-with-claude/
        token-counting). ``fields``: its model, messages, system, tools..., no max_tokens."""
        counted = call(lambda: self._client.messages.count_tokens(**fields))
        return int(counted.input_tokens)

    def cancel(self, batch_id: str) -> dict[str, Any]:
        batch = call(lambda: batch_dict(self._client.messages.batches.cancel(batch_id)))
        return untrusted.check_batch(batch, expected_id=batch_id)

    def delete(self, batch_id: str) -> dict[str, Any]:
        gone = call(
            lambda: self._client.messages.batches.delete(batch_id).model_dump(mode="json", warnings=False)
        )
        if gone.get("id") != batch_id:
            untrusted.check_batch_id(gone.get("id"), "deleted batch id")
            raise untrusted.UntrustedReplyError(
                f"asked to delete batch {batch_id}, the API answered for {gone.get('id')}"
            )
        return gone

    # -- results ------------------------------------------------------------------------------
    @contextmanager
    def open_results(
        self,
        batch: Mapping[str, Any],
        *,
        chunk_size: int = RESULTS_CHUNK,
        not_found_grace: float = 0.0,
    ) -> Iterator[Iterator[bytes]]:
        """Stream a batch's results body as raw bytes (the API's JSONL, unchanged).

        ``batch`` is a batch dict that has ended (it carries ``results_url``, followed only on
        the base URL's origin). A body cut off part-way raises StreamDroppedError while
        iterating; the caller may fetch again. ``not_found_grace``: see ``_riding_404``.
        """
        if not batch.get("results_url"):
            raise errors.StillRunningError(
                f"batch {batch.get('id')} has no results yet "
                f"(processing_status: {batch.get('processing_status')})"
            )
        url = untrusted.check_results_url(batch, self.base_url)
        # Without middleware: through the SDK's middleware path, a call cast to httpx.Response
        # comes back as the raw response whatever its status (``_base_client.request``: only an
        # ``APIResponse`` is checked for ``is_success``), so a 404 or 5xx would be taken for the
        # body. The retrieve before it has already met a refused connection, if there is one.
        plain = self._client.with_options(middleware=[])
        response = self._riding_404(
            lambda: call(
                lambda: plain.get(
                    url,
                    cast_to=httpx2.Response,
                    options={"headers": {"Accept": "application/binary"}},
                    stream=True,
                )
            ),
            f"the results of batch {batch.get('id')}",
            not_found_grace,
        )
        try:
            yield _guard(response.iter_bytes(chunk_size))
        finally:
            response.close()


def _page_id(value: str | None) -> str | None:
    return None if value is None else untrusted.check_batch_id(value, "list cursor")


def _guard(chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except errors.BatchctlError:
        raise
    except Exception as exc:  # the transport (or the in-process emulator) broke mid-body
        raise errors.StreamDroppedError(
            f"the results download was cut off part-way ({type(exc).__name__}: {exc})"
        ) from exc


def _sdk_client(
    settings: Settings, emulator_config: Any, clock: Clock, retries: int, env: Mapping[str, str]
) -> anthropic.Anthropic:
    """The SDK client: the emulator mounted in-process (``--emulator``), else the real API with
    the key from the environment; both carry the guards' hooks."""
    if settings.emulator:
        from batchctl.emulator import EMULATOR_API_KEY, EmulatorConfig, make_app

        try:
            config = emulator_config or EmulatorConfig.from_env(env)
        except ValueError as exc:
            raise errors.UsageError(f"emulator settings: {exc}") from None
        app = make_app(settings.emulator_dir, config, clock=clock.time)
        http_client = httpx2.Client(
            transport=httpx2.WSGITransport(app=app), event_hooks=guard_hooks(settings.base_url)
        )
        return anthropic.Anthropic(
            api_key=EMULATOR_API_KEY,
            base_url=settings.base_url,
            http_client=http_client,
            max_retries=retries,
        )
    key = env.get("ANTHROPIC_API_KEY")
    if not key:
        raise errors.AuthError(
            "no API key: set ANTHROPIC_API_KEY",
            hint="to try batchctl without a key, add --emulator (or set BATCHCTL_EMULATOR=1)",
        )
    return anthropic.Anthropic(
        api_key=key,
        base_url=settings.base_url,
        max_retries=retries,
        http_client=anthropic.DefaultHttpxClient(event_hooks=guard_hooks(settings.base_url)),
        middleware=[FailRefusedAtOnce()],
    )
