"""Emulator settings: timing, injected outcomes and faults, and their environment variables."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from batchctl.emulator.catalog import Catalog, builtin, load_file

#: Any non-empty key is accepted; this is the one batchctl prints and uses for its in-process mount.
EMULATOR_API_KEY = "emulator-key"

#: The endpoints that ``fault_endpoints`` may name.
ENDPOINTS = frozenset({"create", "retrieve", "list", "cancel", "delete", "results"})

#: The API's own limits on a create call (256 MiB body, 100,000 requests).
MAX_BODY_BYTES = 256 * 1024 * 1024
MAX_REQUESTS = 100_000

ENV_PREFIX = "BATCHCTL_EMULATOR_"

_LIMITS = ("queue_limit", "rate_limit")  # batchctl.emulator.limits
_COUNTS = ("seed", "max_body_bytes", "spend_limit_after", "storage_not_ready", "overloaded")
_SECONDS = (
    "processing_seconds", "cancel_seconds", "expiry_seconds", "archive_seconds", "flaky_404_seconds"
)
#: What ``spend_limit`` may name (batchctl.emulator.quirks.SPEND_LIMITS); "1"/"true" is "tier".
SPEND_LIMIT_KINDS = ("tier", "contract", "linked", "ramp", "workspace", "linked-402",
                     "linked-billing")
_RATES = ("error_rate", "expire_rate", "stop_rate", "fault_rate", "lost_reply_rate", "drop_rate",
          "cache_hit_rate")


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator behaves. Timing is snapshotted into each batch when it is created."""

    processing_seconds: float = 3.0  # create -> ended (0 = ended at once)
    cancel_seconds: float = 1.0  # canceling -> ended
    expiry_seconds: float = 86400.0  # created -> expires_at (24 h)
    archive_seconds: float = 29 * 86400.0  # created -> archived_at (results gone)
    error_rate: float = 0.0  # per request: errored with api_error / overloaded_error
    expire_rate: float = 0.0  # per request: expired
    # per request: succeeded, but with stop_reason refusal or model_context_window_exceeded
    # (types/stop_reason.py, SDK 2.17; batchctl.emulator.outcomes)
    stop_rate: float = 0.0
    fault_rate: float = 0.0  # per HTTP call: 429, 500 or 529 before doing anything
    lost_reply_rate: float = 0.0  # per HTTP call: the work is done, then the reply is lost
    drop_rate: float = 0.0  # per results download: the connection is cut part-way
    # per batch request that could read a cached prefix: it does (else it writes it again); the
    # docs' "30% to 98%" hit rates in batches (emulator.cachesim); drawn at create
    cache_hit_rate: float = 0.98
    # the first N calls answer 503 storage_not_ready (BATCHES_API.md 12.2; emulator.faults)
    storage_not_ready: int = 0
    # the first N calls answer 529 overloaded_error, retry-after 1 s (emulator.faults)
    overloaded: int = 0
    fault_endpoints: frozenset[str] | None = None  # None = every endpoint
    seed: int = 0
    public_base_url: str | None = None  # for absolute results_url; else derived from Host
    max_body_bytes: int = MAX_BODY_BYTES  # 413 request_too_large above this (tests shrink it)
    queue_limit: int | None = None  # requests in unended batches; a create past it: 429
    rate_limit: int | None = None  # HTTP calls per minute; past it: 429 with retry-after (s)
    # The real API's behaviours (batchctl.emulator.quirks):
    spend_limit: str | None = None  # every create answers this spend cap (SPEND_LIMIT_KINDS)
    spend_limit_after: int = 0  # ... once this many batches exist (a cap hit part-way)
    flaky_404_seconds: float = 0.0  # retrieve/results 404 this long after create and after end
    results_origin: str | None = None  # results_url on this origin (scheme://host:port)
    # Answer any model id; by default one outside the emulator's catalogue ends errored with
    # not_found_error, as the API answers a model that does not exist.
    any_model: bool = False
    # Keep each create's requests, one JSON line each, in DATA_DIR/received/BATCH_ID.jsonl:
    # what a client really sent (tests check the cache markers batchctl placed there).
    record_requests: bool = False
    # A JSON list of ModelInfo objects (as GET /v1/models returns them) that replaces the
    # packaged catalogue (batchctl.emulator.catalog); read and checked here, once.
    models: str | None = None
    catalog: Catalog = field(default_factory=builtin, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in _SECONDS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")
        for name in _RATES:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number from 0 to 1, not {value!r}")
        if self.error_rate + self.expire_rate + self.stop_rate > 1.0:
            raise ValueError("error_rate + expire_rate + stop_rate must not exceed 1")
        if self.fault_endpoints is not None:
            endpoints = frozenset(self.fault_endpoints)
            unknown = sorted(endpoints - ENDPOINTS)
            if unknown:
                raise ValueError(
                    f"fault_endpoints: unknown {', '.join(unknown)} (known: {', '.join(sorted(ENDPOINTS))})"
                )
            object.__setattr__(self, "fault_endpoints", endpoints)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, not {self.seed!r}")
        if not isinstance(self.max_body_bytes, int) or self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be a positive integer, not {self.max_body_bytes!r}")
        for name in _LIMITS:
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        for flag in ("any_model", "record_requests"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{flag} must be true or false, not {getattr(self, flag)!r}")
        if self.public_base_url is not None:
            object.__setattr__(self, "public_base_url", self.public_base_url.rstrip("/"))
        if self.spend_limit is not None and self.spend_limit not in SPEND_LIMIT_KINDS:
            raise ValueError(
                f"spend_limit must be one of {', '.join(SPEND_LIMIT_KINDS)}, not {self.spend_limit!r}"
            )
        for name in ("spend_limit_after", "storage_not_ready", "overloaded"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0, not {value!r}")
        if self.models is not None:
            path = os.fspath(self.models)
            object.__setattr__(self, "models", path)
            object.__setattr__(self, "catalog", load_file(Path(path)))
        if self.results_origin is not None:
            origin = self.results_origin.rstrip("/")
            if not origin.startswith(("http://", "https://")) or "/" in origin.split("://", 1)[1]:
                raise ValueError(f"results_origin must be scheme://host[:port], not {self.results_origin!r}")
            object.__setattr__(self, "results_origin", origin)

    def faults_apply(self, endpoint: str) -> bool:
        return self.fault_endpoints is None or endpoint in self.fault_endpoints

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: object) -> EmulatorConfig:
        """Read ``BATCHCTL_EMULATOR_*`` variables; a bad value raises ValueError naming the variable.

        ``overrides`` (e.g. from command-line flags) win over the environment; None values are ignored.
        """
        values: dict[str, object] = {}
        for setting in fields(cls):
            var = ENV_PREFIX + setting.name.upper()
            raw = environ.get(var)
            if not setting.init or raw is None or raw.strip() == "":
                continue
            raw = raw.strip()
            try:
                values[setting.name] = _parse(setting.name, raw)
            except ValueError as exc:
                raise ValueError(f"{var}={raw!r}: {exc}") from None
        from_environ = {k for k, v in values.items() if k not in overrides or overrides[k] is None}
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ValueError as exc:
            names = [ENV_PREFIX + k.upper() for k in sorted(from_environ) if k in str(exc)]
            if not names:
                raise
            raise ValueError(f"{', '.join(names)}: {exc}") from None


def _parse(name: str, raw: str) -> object:
    if name in _SECONDS or name in _RATES:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("not a number") from None
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return value
    if name == "spend_limit":
        return "tier" if raw.lower() in ("1", "true", "yes", "on") else raw.lower()
    if name in (*_COUNTS, *_LIMITS):
        try:
            return int(raw)
        except ValueError:
            raise ValueError("not an integer") from None
    if name in ("any_model", "record_requests"):
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise ValueError("not a boolean (1 or 0)")
        return raw.lower() in ("1", "true", "yes")
    if name == "fault_endpoints":
        return frozenset(part.strip() for part in raw.split(",") if part.strip())
    return raw  # public_base_url, results_origin, models
