"""The Message Batches API as batchctl uses it: a thin wrapper over the official SDK.

It builds the client (with the key it is given, or with the emulator mounted in-process through the
SDK's ``http_client``), returns plain dicts with the API's field names, and turns every SDK error
into the batchctl error tree (``translate``). It does not re-implement the SDK: paging, retries
with backoff and ``retry-after`` are the SDK's. The client's transport carries the guards
of ``batchctl.core.api.transport`` (origin check, spend-limit stop) and
``FailUnreachableAtOnce``.

This is the only module that imports anthropic (about a second of start-up): nothing imports
it at module level outside ``TYPE_CHECKING``, so ``batchctl --help`` never loads the SDK.

Every batch the server describes is checked (``untrusted.check_batch``) before it is returned,
and every server message is made printable before it reaches an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import anthropic
import httpx2
from anthropic.types.messages import MessageBatch

from batchctl.core import errors
from batchctl.core.api import patience, untrusted
from batchctl.core.api.transport import (
    LAST_ATTEMPT,
    Page,
    RequestBody,
    RetryLog,
    chain,
    guard_hooks,
    guard_stream,
    origin,
    page_id,
    unreachable,
)
from batchctl.core.clock import Clock, SystemClock
from batchctl.core.events import Outbox
from batchctl.core.flags import KEYS, Flags
from batchctl.core.settings import Settings

__all__ = ["BATCHES_PATH", "DEFAULT_MAX_RETRIES", "RESULTS_CHUNK", "Api",
           "Page", "batch_dict", "translate"]

BATCHES_PATH = "/v1/messages/batches"
DEFAULT_MAX_RETRIES = 8  # 9 attempts: rides out ~50% failing calls (429/5xx/lost replies); create: 0
RESULTS_CHUNK = 1 << 16  # 64 KiB: what a cut download keeps; 1 MiB was no faster, 9-24 MB more RSS

T = TypeVar("T")


def batch_dict(batch: Any) -> dict[str, Any]:
    # warnings=False: pydantic would print a hostile value raw on stderr; check_batch judges it.
    return batch.model_dump(mode="json", warnings=False)



class Api:
    """The Message Batches API as batchctl uses it. Build it with ``Api.connect``."""

    def __init__(
        self,
        client: anthropic.Anthropic,
        base_url: str,
        *,
        clock: Clock | None = None,
        outbox: Outbox | None = None,
        flags: Flags = KEYS,
    ) -> None:
        """``outbox``: where the SDK's retries (``ApiRetry``) and the notes of a 404 being
        ridden out go while a call is in flight, for the caller to drain; None: nowhere.
        ``flags``: how the caller names the options its hints mention."""
        self._client = client
        self.base_url = base_url
        self.flags = flags
        self.clock = clock or SystemClock()
        self.notices = outbox
        self._retry_log = None if outbox is None else RetryLog.attach(outbox)

    @classmethod
    def connect(
        cls,
        settings: Settings,
        *,
        api_key: str | None = None,
        emulator_config: Any = None,
        clock: Clock | None = None,
        max_retries: int | None = None,
        outbox: Outbox | None = None,
    ) -> Api:
        """The client for ``settings``: the emulator mounted in-process (``emulator_config``:
        a ``batchctl.emulator.EmulatorConfig``, default settings if None), else the API at its
        base URL with ``api_key`` (AuthError, exit 4, without one). ``outbox``: see ``Api``."""
        retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
        clock = clock or SystemClock()
        client = _sdk_client(settings, emulator_config, clock, retries, api_key)
        return cls(client, settings.base_url, clock=clock, outbox=outbox, flags=settings.flags)

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
        after a failure: see batchctl.core.submit.submit.
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
                    content=RequestBody(chunks, size, self.notices),
                    cast_to=MessageBatch,
                    options={"headers": headers},
                )
            )
        )
        return untrusted.check_batch(batch)

    def _riding_404(self, call: Callable[[], T], what: str, grace: float) -> T:
        """``call()``, a 404 ridden out for ``grace`` seconds (``patience.riding_404``)."""
        return patience.riding_404(self.clock, self.notices, call, what, grace)

    def _call(self, fn: Callable[[], T]) -> T:
        """``call(fn)``, a 503 storage_not_ready waited out (``patience.riding_storage``)."""
        return patience.riding_storage(self.clock, self.notices, lambda: call(fn))

    def retrieve(self, batch_id: str, *, not_found_grace: float = 0.0) -> dict[str, Any]:
        """GET one batch. ``not_found_grace``: keep retrying a 404 for this many seconds (see
        ``_riding_404``)."""
        batch = self._riding_404(
            lambda: self._call(lambda: batch_dict(self._client.messages.batches.retrieve(batch_id))),
            f"batch {batch_id}",
            not_found_grace,
        )
        return untrusted.check_batch(batch, expected_id=batch_id)

    def list_page(self, *, limit: int = 20, after_id: str | None = None) -> Page:
        kwargs: dict[str, Any] = {"limit": limit}
        if after_id:
            kwargs["after_id"] = after_id
        page = self._call(lambda: self._client.messages.batches.list(**kwargs))
        return Page(
            data=[untrusted.check_batch(batch_dict(b)) for b in page.data],
            has_more=bool(page.has_more),
            first_id=page_id(page.first_id),
            last_id=page_id(page.last_id),
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

    # -- models -------------------------------------------------------------------------------
    def models(self) -> list[dict[str, Any]]:
        """Every model this key can see, retired ones included, most recent first: the Models
        API (``client.models.list(lifecycle=[...])``, GET /v1/models, all pages; without the
        filter retired models are left out: BATCHES_API.md 12.3), each checked
        (``batchctl.core.api.models``)."""
        from batchctl.core.api.models import MAX_MODELS, check_models

        def every() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            for info in self._client.models.list(lifecycle=["active", "deprecated", "retired"],
                                                 limit=1000):
                if len(found) == MAX_MODELS:
                    raise untrusted.UntrustedReplyError(
                        f"the Models API listed more than {MAX_MODELS:,} models; not used")
                found.append(info.model_dump(mode="json", warnings=False))
            return found

        return check_models(self._call(every))

    # -- token counting -----------------------------------------------------------------------
    def count_tokens(self, fields: Mapping[str, Any]) -> int:
        """Exact input tokens of one Messages request (``client.messages.count_tokens``, POST
        /v1/messages/count_tokens: free, https://docs.claude.com/en/docs/build-with-claude/
        token-counting). ``fields``: its model, messages, system, tools..., no max_tokens."""
        counted = self._call(lambda: self._client.messages.count_tokens(**fields))
        return int(counted.input_tokens)

    def cancel(self, batch_id: str) -> dict[str, Any]:
        batch = self._call(lambda: batch_dict(self._client.messages.batches.cancel(batch_id)))
        return untrusted.check_batch(batch, expected_id=batch_id)

    def delete(self, batch_id: str) -> dict[str, Any]:
        gone = self._call(
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
        url = untrusted.check_results_url(batch, self.base_url, self.flags["base_url"])
        # Without middleware: through the SDK's middleware path, a call cast to httpx.Response
        # comes back as the raw response whatever its status (``_base_client.request``: only an
        # ``APIResponse`` is checked for ``is_success``), so a 404 or 5xx would be taken for the
        # body. The retrieve before it has already met a refused connection, if there is one.
        plain = self._client.with_options(middleware=[])
        response = self._riding_404(
            lambda: self._call(
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
            yield guard_stream(response.iter_bytes(RESULTS_CHUNK))
        finally:
            response.close()


def _sdk_client(
    settings: Settings, emulator_config: Any, clock: Clock, retries: int, key: str | None
) -> anthropic.Anthropic:
    """The SDK client: the emulator mounted in-process (``--emulator``), else the real API with
    ``key``; both carry the guards' hooks."""
    if settings.emulator:
        from batchctl.emulator import EMULATOR_API_KEY, EmulatorConfig, make_app

        app = make_app(settings.emulator_dir, emulator_config or EmulatorConfig(), clock=clock.time)
        http_client = httpx2.Client(
            transport=httpx2.WSGITransport(app=app), event_hooks=guard_hooks(settings.base_url, Refused)
        )
        return anthropic.Anthropic(
            api_key=EMULATOR_API_KEY,
            base_url=settings.base_url,
            http_client=http_client,
            max_retries=retries,
            middleware=[FailUnreachableAtOnce(settings.flags["base_url"])],
        )
    if not key:
        raise errors.AuthError(
            "no API key: set ANTHROPIC_API_KEY",
            hint=f"to try batchctl without a key, add {settings.flags['emulator']} (or set "
            "BATCHCTL_EMULATOR=1)",
        )
    return anthropic.Anthropic(
        api_key=key,
        base_url=settings.base_url,
        max_retries=retries,
        http_client=anthropic.DefaultHttpxClient(event_hooks=guard_hooks(settings.base_url, Refused)),
        middleware=[FailUnreachableAtOnce(settings.flags["base_url"])],
    )


# -- errors --------------------------------------------------------------------------------------
class Refused(anthropic.AnthropicError):
    """Raised by the client's hooks: the SDK neither wraps nor retries an AnthropicError;
    ``translate`` hands out the batchctl error it carries."""

    def __init__(self, error: errors.BatchctlError) -> None:
        super().__init__(error.message)
        self.error = error


class FailUnreachableAtOnce(anthropic.Middleware):
    """A refused connection (nothing listens at the address) or a host name that does not
    resolve (a typo, or no network) fails at once, naming the host.

    The SDK retries every connection error (``_base_client._should_retry_exception``: any
    ``APIConnectionError``), so with 8 retries a wrong --base-url or a stopped emulator took
    ~40 s and six retry warnings to report (issue 15), and `list` with no network ~34 s of
    "did not answer" warnings (issue 21). Middleware runs inside the SDK's retry loop, once per
    attempt, and an exception it raises that is not an SDK error type propagates as-is,
    unretried (``anthropic/_middleware.py``, ``_should_retry_exception``). Timeouts, lost
    replies, 429 and 5xx keep the SDK's retries.
    """

    def __init__(self, option: str = "base_url") -> None:
        self.option = option  # how the caller names --base-url, for the hint

    def handle(self, request: Any, call_next: Any) -> Any:
        try:
            response = call_next(request)
        except anthropic.APIConnectionError as exc:
            timeout = isinstance(exc, anthropic.APITimeoutError)
            why = None if timeout else unreachable(exc)
            if why is None:
                LAST_ATTEMPT.no_answer(timeout)  # the SDK retries it: RetryLog says why
                raise
            raise errors.RefusedError(
                f"could not connect to {origin(exc.request.url)}: {why}",
                request_sent=False,
                hint=f"check {self.option} / ANTHROPIC_BASE_URL (a local emulator: is `batchctl "
                "emulator` running?)",
            ) from None
        LAST_ATTEMPT.answered(response.status_code)
        return response


def _error_body(exc: anthropic.APIStatusError) -> tuple[str | None, str]:
    body = exc.body
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            kind = inner.get("type")
            kind = untrusted.printable(kind, 60) if isinstance(kind, str) else None
            return kind, untrusted.printable(str(inner.get("message") or exc.message), 1000)
    return None, untrusted.printable(exc.message, 1000)


def translate(exc: BaseException) -> errors.BatchctlError:
    """Map an SDK (or transport) exception to the batchctl error tree."""
    for link in chain(exc):
        # Our own error raised inside the SDK's call (e.g. a create body whose file changed
        # while it was being sent) travels out wrapped as a connection error: unwrap it.
        if isinstance(link, errors.BatchctlError):
            return link
        if isinstance(link, Refused):
            return link.error
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        error_type, message = _error_body(exc)
        text = f"API error {status}" + (f" {error_type}" if error_type else "") + f": {message}"
        kwargs: dict[str, Any] = {
            "status": status,
            "request_id": untrusted.printable(exc.request_id, 80) if exc.request_id else None,
            "error_type": error_type,
            "retry_after": untrusted.retry_after(exc.response.headers),
        }
        if status == 402:
            # A linked organization's billing cap (PaymentRequiredError, linked_organization_*
            # codes; BATCHES_API.md 12.2): no key problem, and retrying will not help (exit 10).
            return errors.SpendLimitError(
                f"{text}; retrying will not help until the linked organization's billing "
                "changes", hint="the organization linked to this key's user profile must raise "
                "its spend limit or settle its billing (Claude Console)", **kwargs)
        if status in (401, 403):
            hint = "check ANTHROPIC_API_KEY" if status == 401 else None
            return errors.AuthError(text, hint=hint, **kwargs)
        if status == 404:
            return errors.NotFoundError(text, **kwargs)
        if status in (408, 409, 429) or status >= 500:
            return errors.UnavailableError(text, **kwargs)
        return errors.BadRequestError(text, **kwargs)
    if isinstance(exc, anthropic.APITimeoutError):
        return errors.UnavailableError("the API did not answer in time (timeout)")
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__
        detail = f": {cause}" if cause and str(cause) else ""
        # ConnectError: the connection was never made (refused, unknown host), nothing was sent.
        never = any(isinstance(link, httpx2.ConnectError) for link in chain(cause))
        return errors.UnavailableError(
            f"could not reach the API at {origin(exc.request.url)} (connection error{detail})",
            request_sent=not never,
        )
    if isinstance(exc, (httpx2.TransportError, httpx2.StreamError)):
        return errors.StreamDroppedError(f"the connection broke while reading from the API: {exc}")
    if isinstance(exc, anthropic.AnthropicError):
        return errors.APIError(str(exc))
    raise exc


def call(fn: Callable[[], T]) -> T:
    """``fn()``, any SDK or transport error raised as its batchctl error."""
    try:
        return fn()
    except (anthropic.AnthropicError, httpx2.TransportError, httpx2.StreamError) as exc:
        raise translate(exc) from exc
