"""AppContext: everything a command needs from the outside world, injected, built lazily.

Commands get it with ``app_context(ctx)``. Nothing here touches the terminal, the network or the
disk at import time; the API client and the store are built on first use, so `batchctl --help`
and commands that need neither stay fast.
"""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer

from batchctl.core.clock import Clock, SystemClock
from batchctl.core.events import Outbox
from batchctl.core.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from batchctl.core.api.client import Api
    from batchctl.core.state.store import Store

FORCE_TTY_ENV = "BATCHCTL_FORCE_TTY"


def _import_api() -> type[Api]:
    """``batchctl.core.api.client``, imported late (importing anthropic costs ~1 s) with the cyclic GC
    paused, then every object it made frozen (``gc.freeze``): the import allocates a few hundred
    thousand long-lived objects, and each collection would otherwise walk them all, during the
    import (~0.2 s) and again during a results download, where every parsed line allocates
    (~0.4 s per 100,000 results). Reference counting still frees everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        from batchctl.core.api.client import Api
    finally:
        if enabled:
            gc.enable()
    gc.freeze()
    return Api


@dataclass
class Overrides:
    """What tests (or embedding code) inject through ``CliRunner.invoke(..., obj=Overrides(...))``."""

    stdout_tty: bool | None = None
    stderr_tty: bool | None = None
    stdin_tty: bool | None = None
    clock: Clock | None = None
    width: int | None = None
    emulator_config: Any = None  # batchctl.emulator.EmulatorConfig for the in-process mount
    api_max_retries: int | None = None


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@dataclass
class AppContext:
    settings: Settings
    stdout_tty: bool
    stderr_tty: bool
    stdin_tty: bool
    clock: Clock = field(default_factory=SystemClock)
    width: int | None = None
    overrides: Overrides = field(default_factory=Overrides)
    #: What the API layer says during its calls (retries, 404s ridden out), for
    #: ``batchctl.cli.render.events`` to show between a workflow's events.
    notices: Outbox = field(default_factory=Outbox)
    _out: Console | None = None
    _err: Console | None = None
    _api: Api | None = None
    _store: Store | None = None

    @classmethod
    def build(cls, settings: Settings, overrides: Overrides | None = None) -> AppContext:
        o = overrides or Overrides()
        forced = os.environ.get(FORCE_TTY_ENV, "").strip().lower() in {"1", "true", "yes"}
        pick = lambda given, stream: given if given is not None else (forced or _isatty(stream))  # noqa: E731
        return cls(
            settings=settings,
            stdout_tty=pick(o.stdout_tty, sys.stdout),
            stderr_tty=pick(o.stderr_tty, sys.stderr),
            stdin_tty=pick(o.stdin_tty, sys.stdin),
            clock=o.clock or SystemClock(),
            width=o.width,
            overrides=o,
        )

    # -- terminal -------------------------------------------------------------------------------
    def _console(self, *, stderr: bool, tty: bool) -> Console:
        # file=None: Rich looks sys.stdout/sys.stderr up on every write, so test runners that swap
        # them capture output. Off a terminal: no colour, no wrapping, no escape codes at all.
        from rich.console import Console

        return Console(
            stderr=stderr,
            force_terminal=tty,
            no_color=not tty or None,
            color_system="auto" if tty else None,
            highlight=False,
            soft_wrap=not tty,
            width=self.width or (None if tty else 10_000),
            emoji=False,
        )

    @property
    def out(self) -> Console:
        """stdout: data only. Use batchctl.cli.render.output to write to it."""
        if self._out is None:
            self._out = self._console(stderr=False, tty=self.stdout_tty)
        return self._out

    @property
    def err(self) -> Console:
        """stderr: progress, hints, warnings, errors, prompts."""
        if self._err is None:
            self._err = self._console(stderr=True, tty=self.stderr_tty)
        return self._err

    @property
    def can_prompt(self) -> bool:
        """Someone can answer a question: stdin and stderr are terminals."""
        return self.stdin_tty and self.stderr_tty

    # -- lazily built dependencies --------------------------------------------------------------
    def preload_api(self) -> None:
        """Import the API layer now (about a second), without connecting."""
        _import_api()

    def api(self) -> Api:
        if self._api is None:
            api_class = _import_api()
            self._api = api_class.connect(
                self.settings,
                api_key=os.environ.get("ANTHROPIC_API_KEY"),
                emulator_config=self._emulator_config(),
                clock=self.clock,
                max_retries=self.overrides.api_max_retries,
                outbox=self.notices,
            )
        return self._api

    def _emulator_config(self) -> Any:
        """The in-process emulator's settings: the test's, else ``BATCHCTL_EMULATOR_*``."""
        if self.overrides.emulator_config is not None or not self.settings.emulator:
            return self.overrides.emulator_config
        from batchctl.core.errors import UsageError
        from batchctl.emulator import EmulatorConfig

        try:
            return EmulatorConfig.from_env(os.environ)
        except ValueError as exc:
            raise UsageError(f"emulator settings: {exc}") from None

    def store(self) -> Store:
        if self._store is None:
            from batchctl.core.state.store import Store

            self._store = Store.open(
                self.settings.state_dir, clock=self.clock, location=self.settings.store
            )
        return self._store

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None
        if self._store is not None:
            self._store.close()
            self._store = None


def app_context(ctx: typer.Context) -> AppContext:
    """The AppContext the root callback built for this invocation."""
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, AppContext):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("batchctl command run without the root callback")
    return obj
