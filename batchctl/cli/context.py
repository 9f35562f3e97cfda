"""AppContext: everything a command needs from the outside world, injected, built lazily.

Commands get it with ``app_context(ctx)``. Nothing here touches the terminal, the network or the
disk at import time; the API client and the store are built on first use, so `batchctl --help`
and commands that need neither stay fast.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from batchctl.cli.iostreams import IOStreams
from batchctl.core.clock import Clock, SystemClock
from batchctl.core.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from batchctl.core.api.client import Api
    from batchctl.core.events import Outbox
    from batchctl.core.state.store import Store

T = TypeVar("T")


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

    io: IOStreams | None = None  # None: the process's streams, decided by batchctl.cli.iostreams
    clock: Clock | None = None
    emulator_config: Any = None  # batchctl.emulator.EmulatorConfig for the in-process mount
    api_max_retries: int | None = None
    #: A stand-in for every command's run function (see ``run_parsed``): parse-only tests.
    run: Callable[[AppContext, Any], None] | None = None


def streams(ctx: typer.Context) -> IOStreams:
    """The IOStreams of this invocation: the ones injected, else the process's, built once and
    kept on the root context (as ``Overrides``) for everything after."""
    root = ctx.find_root()
    obj = root.obj
    if isinstance(obj, AppContext):
        return obj.io
    if not isinstance(obj, Overrides):
        obj = root.obj = Overrides()
    if obj.io is None:
        obj.io = IOStreams()
    return obj.io


def _outbox() -> Outbox:
    from batchctl.core.events import Outbox  # not needed by help (issue 21 item 9)

    return Outbox()


@dataclass
class AppContext:
    settings: Settings
    io: IOStreams
    clock: Clock = field(default_factory=SystemClock)
    overrides: Overrides = field(default_factory=Overrides)
    #: What the API layer says during its calls (retries, 404s ridden out), for
    #: ``batchctl.cli.render.events`` to show as it is said (its ``Relay``).
    notices: Outbox = field(default_factory=_outbox)
    _api: Api | None = None
    _store: Store | None = None

    @classmethod
    def build(cls, settings: Settings, overrides: Overrides | None = None) -> AppContext:
        o = overrides or Overrides()
        return cls(settings=settings, io=o.io or IOStreams(), clock=o.clock or SystemClock(),
                   overrides=o)

    # -- terminal: batchctl.cli.iostreams decides, these read --------------------------------------
    @property
    def stdout_tty(self) -> bool:
        return self.io.stdout_tty

    @property
    def stderr_tty(self) -> bool:
        return self.io.stderr_tty

    @property
    def stdin_tty(self) -> bool:
        return self.io.stdin_tty

    @property
    def out(self) -> Console:
        """stdout: data only. Use batchctl.cli.render.output to write to it."""
        return self.io.console(stderr=False)

    @property
    def err(self) -> Console:
        """stderr: progress, hints, warnings, errors, prompts."""
        return self.io.console(stderr=True)

    @property
    def can_prompt(self) -> bool:
        """Someone can answer a question: stdin and stderr are terminals."""
        return self.io.can_prompt

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


def run_parsed(ctx: typer.Context, run: Callable[[AppContext, T], None], options: T) -> None:
    """gh's ``NewCmdX(f, runF)`` seam: a command function parses its flags into ``options`` (a
    plain value) and hands them to its ``run``, or to the stand-in a test injected
    (``Overrides.run``), which sees what was parsed with no API, store or emulator behind it."""
    from batchctl.cli.render.events import show_notices

    actx = app_context(ctx)
    try:
        (actx.overrides.run or run)(actx, options)
    finally:  # what the API layer queued outside a drive or api_notices is said at the end
        show_notices(actx)


def app_context(ctx: typer.Context) -> AppContext:
    """The AppContext the root callback built for this invocation."""
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, AppContext):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("batchctl command run without the root callback")
    return obj
