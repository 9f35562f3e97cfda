"""What the real API does that a well-behaved emulator would not, each behind an option
(DESIGN.md: "The real API is the reference"): spend caps, transient 404s, a results_url on
another origin, and the organization header.

* Spend caps (``spend_limit``): https://platform.claude.com/docs/en/api/errors (HTTP errors):
  a usage tier's monthly cap is a 429 ``rate_limit_error`` without ``retry-after``; a spend
  limit set in the Console for an organization or workspace is a 400 ``invalid_request_error``
  whose message begins "You have reached your specified (workspace) API usage limits". The
  ``error.details.error_code`` values are the SDK's (anthropic/types/shared/
  *_spend_limit_reached_error_details.py, ramp_limit_exceeded_error_details.py: "Retry after
  the time in the retry-after header"). A linked organization's cap can also come as a 402
  (BATCHES_API.md 12.2; anthropic 2.17 ``_error_classes.py``: ``(402, "linked_organization_
  spend_limit_reached")`` and ``(402, "linked_organization_billing_unavailable")`` are
  ``PaymentRequiredError`` subclasses); its error type is ``billing_error``, the errors page's
  name for a 402.
* Transient 404s (``flaky_404_seconds``): anthropic-sdk-python#1432: retrieve answered 404 a
  second after create and again mid-poll, results answered 404 just after the batch ended;
  every such batch completed.
* ``anthropic-organization-id``: the API names the key's organization on every response
  (https://platform.claude.com/docs/en/api/overview, response headers).
"""

from __future__ import annotations

import uuid

from batchctl.emulator.config import EmulatorConfig
from batchctl.emulator.outcomes import Timeline
from batchctl.emulator.wire import ApiError, not_found

#: kind -> (status, error type, error_code or None, message)
_NOTE = " (batchctl emulator, spend_limit)"
SPEND_LIMITS: dict[str, tuple[int, str, str | None, str]] = {
    "tier": (429, "rate_limit_error", "enforced_spend_limit_reached",
             "Your organization has reached the monthly spend limit of its usage tier." + _NOTE),
    "contract": (429, "rate_limit_error", "contract_spend_limit_reached",
                 "Your organization has reached the spend limit of its contract." + _NOTE),
    "linked": (429, "rate_limit_error", "linked_organization_spend_limit_reached",
               "The linked organization has reached a spend limit." + _NOTE),
    "ramp": (429, "rate_limit_error", "ramp_limit_exceeded",
             "This request would exceed your organization's ramp limit." + _NOTE),
    "linked-402": (402, "billing_error", "linked_organization_spend_limit_reached",
                   "The organization linked to the request's user profile has reached a spend "
                   "limit that it set, or lacks credit for the request." + _NOTE),
    "linked-billing": (402, "billing_error", "linked_organization_billing_unavailable",
                       "Anthropic cannot currently bill the organization linked to the request's "
                       "user profile." + _NOTE),
    "workspace": (400, "invalid_request_error", None,
                  "You have reached your specified workspace API usage limits. You will regain "
                  "access on the 1st of next month at 00:00 UTC." + _NOTE),
}
RAMP_RETRY_AFTER = "60"  # seconds: the ramp limit's 429 carries a retry-after; the others none


def organization_id(config: EmulatorConfig) -> str:
    """A stable organization id for this emulator (a UUID, like the API's)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"batchctl-emulator:{config.seed}"))


def spend_limit(config: EmulatorConfig, batches_created: int) -> ApiError | None:
    """The cap's answer to a create, once ``spend_limit_after`` batches exist; else None."""
    if config.spend_limit is None or batches_created < config.spend_limit_after:
        return None
    status, error_type, code, message = SPEND_LIMITS[config.spend_limit]
    headers = [("retry-after", RAMP_RETRY_AFTER)] if config.spend_limit == "ramp" else []
    details: dict[str, object] | None = {"error_code": code} if code else None
    return ApiError(status, error_type, message, headers=headers, details=details)


def flaky_404(config: EmulatorConfig, batch_id: str, timeline: Timeline, now: float) -> None:
    """Raise the API's 404 for a batch that exists, in the ``flaky_404_seconds`` after its
    create and after its end (retrieve and results)."""
    window = config.flaky_404_seconds
    if window <= 0:
        return
    if timeline.created_at <= now < timeline.created_at + window or (
        timeline.ends_at <= now < timeline.ends_at + window
    ):
        raise not_found(batch_id)
