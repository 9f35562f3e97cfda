"""batchctl run in-process (``tests.helpers.invoke``) against an emulator or another server, and
the steps many tests begin with: a tracked submit, batches made with the SDK alone."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.helpers import invoke
from tests.support.emulators import API_KEY
from tests.support.files import request


def on(server: Any, clock: Any, *args: str, env: dict[str, str | None] | None = None,
       **kwargs: Any) -> Any:
    """batchctl against a server (an emulator, or a base URL) with the test key; ``env`` adds
    to that, ``kwargs`` go to ``invoke``."""
    base_url = server if isinstance(server, str) else server.base_url
    full_env: dict[str, str | None] = {"ANTHROPIC_API_KEY": API_KEY, **(env or {})}
    return invoke(["--base-url", base_url, *args], env=full_env, clock=clock, **kwargs)


def command_paths() -> list[tuple[str, ...]]:
    """Every command of the app, sub-commands of groups included: ("state", "path")..."""
    found: list[tuple[str, ...]] = []
    from batchctl.cli.app import COMMANDS, load_command

    for name in COMMANDS:
        subs = getattr(load_command(name), "commands", None)
        if subs:
            found += [(name, sub) for sub in subs]
        else:
            found.append((name,))
    return found


def cli_on(server: Any, clock: Any) -> Callable[..., Any]:
    """``on`` bound to a server and a clock: ``run("status", "--json", tty=False)``; a call may
    pass its own ``clock=``."""

    def run(*args: str, clock: Any = clock, **kwargs: Any) -> Any:
        return on(server, clock, *args, **kwargs)

    return run


def api_on(server: Any, clock: Any, state_dir: Path, **kwargs: Any) -> Any:
    """batchctl's API layer (``Api.connect``) against a server (an emulator, or a base URL),
    with the test key as the CLI hands it; ``kwargs`` go to ``Api.connect``."""
    from batchctl.core.api.client import Api
    from batchctl.core.settings import Settings

    base_url = server if isinstance(server, str) else server.base_url
    settings = Settings.resolve(state_dir=state_dir, base_url=base_url, emulator=False)
    return Api.connect(settings, api_key=API_KEY, clock=clock, **kwargs)


def submit(run: Any, path: Path, *extra: str) -> tuple[str, list[str]]:
    """Submit a request file with batchctl; returns (job id, batch ids)."""
    result = run("submit", "--json", *extra, str(path))
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return records[0]["job_id"], [r["id"] for r in records]


def sdk_batch(emulator: Any, count: int = 2, prefix: str = "s") -> str:
    """A batch made with the SDK alone: the state store does not know it."""
    return sdk_batches(emulator, 1, count, prefix)[0]


def sdk_batches(emulator: Any, batches: int, count: int = 1, prefix: str = "s") -> list[str]:
    """``batches`` batches of ``count`` requests made with one SDK client, oldest first."""
    with emulator.client() as client:
        create = client.messages.batches.create
        made = []
        for b in range(batches):
            reqs: Any = [request(f"{prefix}{b}x{i}") for i in range(count)]
            made.append(create(requests=reqs).id)
        return made


def remote_status(emulator: Any, batch_id: str) -> str:
    with emulator.client() as client:
        return str(client.messages.batches.retrieve(batch_id).processing_status)


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_plain(text: str) -> None:
    """Off a terminal: no escape codes, no carriage-return redraws."""
    assert "\x1b" not in text, text
    assert "\r" not in text, text
