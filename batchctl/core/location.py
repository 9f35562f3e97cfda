"""Which state store to use: ``BATCHCTL_STORE`` / ``--store``, parsed and masked.

Unset (or ``sqlite``): the SQLite file under the state directory. ``postgresql://...`` (or
``postgres://``), a libpq URL, or a libpq keyword string such as ``service=batchctl``: a
PostgreSQL store. Only the masked form (password replaced by ``***``) is ever shown; ``scrub``
removes the password from any text that might carry it (a driver's error message).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from batchctl.core.errors import UsageError

STORE_ENV = "BATCHCTL_STORE"
MASK = "***"
_URL_PASSWORD = re.compile(r"(://[^:/@?#\s]*:)[^@/?#\s]*@")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#\s]*", re.IGNORECASE)
_KEYWORDS = re.compile(r"^\s*[A-Za-z_]+\s*=")
_KW_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


@dataclass(frozen=True)
class StoreLocation:
    kind: str  # "sqlite" | "postgresql"
    conninfo: str = field(default="", repr=False)  # the secret form, for the driver only
    masked: str = ""
    password: str = field(default="", repr=False)
    option: str = field(default="store", compare=False)  # how the caller names --store

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgresql"

    def scrub(self, text: str) -> str:
        """``text`` without the password, in any of the forms it could take."""
        if not self.password:
            return _KW_PASSWORD.sub(lambda m: m.group(1) + MASK, text)
        for form in {self.password, quote(self.password, safe=""), quote(self.password)}:
            text = text.replace(form, MASK)
        return _KW_PASSWORD.sub(lambda m: m.group(1) + MASK, text)

    def __str__(self) -> str:
        return self.masked


SQLITE = StoreLocation("sqlite", masked="sqlite")


def parse_store(value: str | None, option: str = "store") -> StoreLocation:
    """A ``StoreLocation`` from the option or env value; a usage error (exit 2) if unknown
    (``option``: how the caller names the option, for messages)."""
    text = (value or "").strip()
    if not text or text.lower() == "sqlite":
        return SQLITE
    if text.startswith(("postgresql://", "postgres://")):
        return _from_url(text, option)
    if _KEYWORDS.match(text):
        match = _KW_PASSWORD.search(text)
        password = match.group(2).strip("'") if match else ""
        return StoreLocation("postgresql", text, _KW_PASSWORD.sub(lambda m: m.group(1) + MASK, text),
                             password, option)
    shown = mask_text(text)
    raise UsageError(
        f"{option} / {STORE_ENV} must be 'sqlite', a postgresql:// URL or a libpq keyword string "
        f"(service=NAME), got {shown!r}"
    )


def _from_url(url: str, option: str) -> StoreLocation:
    try:
        parts = urlsplit(url)
        password = unquote(parts.password or "")
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        raise UsageError(f"{option} / {STORE_ENV}: not a valid URL: {mask_text(url)!r}") from None
    secret_q = [v for k, v in query if k.lower() == "password"]
    password = password or (secret_q[0] if secret_q else "")
    return StoreLocation("postgresql", url, mask_text(url), password, option)


def mask_text(text: str) -> str:
    """A best-effort mask of anything that looks like a URL password or ``password=``."""
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _QUERY_PASSWORD.sub(lambda m: m.group(1) + MASK, text)
    return _KW_PASSWORD.sub(lambda m: m.group(1) + MASK, text)
