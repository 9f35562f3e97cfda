"""What a call raised. Tests read what the server sent from it (a status code, the error body,
the bytes received), never its class: which class an SDK release raises for the same bytes on the
wire is the SDK's choice (2.17.0 changed it for a cut results stream)."""

from __future__ import annotations

from typing import Any


def failure(fn: Any) -> BaseException:
    """What ``fn()`` raised."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - any class: see above
        return exc
    raise AssertionError(f"{fn!r} raised nothing")


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from or during."""
    links: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in links:
        links.append(link)
        link = link.__cause__ or link.__context__
    return links


def status_of(fn: Any) -> int | None:
    """The HTTP status of the error response that ``fn()`` failed with (None: no response)."""
    response = getattr(failure(fn), "response", None)
    return getattr(response, "status_code", None)
