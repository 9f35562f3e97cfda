"""Where batchctl keeps its state and which API it talks to: resolved once, from the flags and
the environment the caller hands in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from batchctl.core.errors import UsageError
from batchctl.core.flags import KEYS, Flags
from batchctl.core.location import SQLITE, STORE_ENV, StoreLocation, parse_store

DEFAULT_BASE_URL = "https://api.anthropic.com"
# The in-process emulator answers on this origin; it is what the state store records as the
# base URL, so a batch made on the emulator is never looked up on the real API (or the reverse).
EMULATOR_BASE_URL = "http://batchctl-emulator.invalid"
STATE_ENV = "BATCHCTL_HOME"
EMULATOR_ENV = "BATCHCTL_EMULATOR"
BASE_URL_ENV = "ANTHROPIC_BASE_URL"
DB_NAME = "batchctl.db"


def default_state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_state_path("batchctl"))


def env_flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    emulator: bool
    base_url: str
    store: StoreLocation = SQLITE
    #: How the caller names the options (``--base-url``, ``--emulator``...), for the messages
    #: of what is built from these settings (the API client's hints).
    flags: Flags = field(default=KEYS, compare=False, repr=False)

    @property
    def store_path(self) -> Path:
        """The SQLite state store (used when ``store`` is SQLite)."""
        return self.state_dir / DB_NAME

    @property
    def store_display(self) -> str:
        """The store in use, for people: the SQLite path, or the URL with its password masked."""
        return self.store.masked if self.store.is_postgres else str(self.store_path)

    @property
    def emulator_dir(self) -> Path:
        """The data directory of the in-process emulator (also `batchctl emulator`'s default)."""
        return self.state_dir / "emulator"

    @classmethod
    def resolve(
        cls,
        *,
        state_dir: Path | None = None,
        emulator: bool | None = None,
        base_url: str | None = None,
        store: str | None = None,
        environ: Mapping[str, str] | None = None,
        flags: Flags = KEYS,
    ) -> Settings:
        """The settings of one invocation: each flag given, else its variable in ``environ``
        (the caller's environment; None: none), else the default. ``flags``: how the caller
        names the options, for messages."""
        env = environ or {}
        where = parse_store(store if store is not None else env.get(STORE_ENV), flags["store"])
        if state_dir is None:
            home = env.get(STATE_ENV)
            state_dir = Path(home) if home else default_state_dir()
        state_dir = state_dir.expanduser().absolute()
        if emulator is None:  # from the environment: refused where the flags would be
            emulator = env_flag(env.get(EMULATOR_ENV))
            if emulator and (base_url or env.get(BASE_URL_ENV, "").strip()):
                given = flags["base_url"] if base_url else f"{BASE_URL_ENV} (set in the environment)"
                raise UsageError(
                    f"{EMULATOR_ENV}=1 (set in the environment) and {given} cannot be used "
                    "together: batchctl cannot tell which API to talk to",
                    hint=f"say it for this command with {flags['emulator']} or "
                    f"{flags['no_emulator']}, or unset "
                    f"{EMULATOR_ENV} or {BASE_URL_ENV}",
                )
        if emulator:
            if base_url:
                raise UsageError(
                    f"{flags['emulator']} and {flags['base_url']} cannot be used together",
                    hint="the emulator is mounted in-process; run `batchctl emulator` to serve it "
                    f"over HTTP and point {flags['base_url']} at that instead",
                )
            return cls(state_dir=state_dir, emulator=True, base_url=EMULATOR_BASE_URL, store=where,
                       flags=flags)
        base_url = (base_url or env.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise UsageError(f"{flags['base_url']} must start with http:// or https://, got "
                             f"{base_url!r}")
        return cls(state_dir=state_dir, emulator=False, base_url=base_url, store=where,
                   flags=flags)
