"""`batchctl emulator`: serve the local Message Batches API over HTTP on loopback until stopped."""

from __future__ import annotations

import os
import shlex
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.options import JsonOpt, a_dir
from batchctl.cli.render import output
from batchctl.core.errors import UsageError

if TYPE_CHECKING:
    from batchctl.emulator import EmulatorConfig


def _rate(help_text: str) -> Any:
    return typer.Option(min=0.0, max=1.0, show_default=False, metavar="RATE", help=help_text)


def _count(help_text: str) -> Any:
    return typer.Option(min=0, show_default=False, metavar="N", help=help_text)


def emulator(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")
    ] = 8765,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            metavar="DIR",
            callback=a_dir,
            show_default=False,
            help="Data directory (default: <state dir>/emulator, the one --emulator uses).",
        ),
    ] = None,
    processing_seconds: Annotated[
        float | None,
        typer.Option(min=0.0, show_default=False, metavar="SECONDS",
                     help="Seconds from create to ended (default 3)."),
    ] = None,
    error_rate: Annotated[
        float | None, _rate("Share of requests that end errored (retryable).")
    ] = None,
    expire_rate: Annotated[float | None, _rate("Share of requests that end expired.")] = None,
    stop_rate: Annotated[float | None, _rate(
        "Share of requests that succeed with stop_reason refusal or "
        "model_context_window_exceeded.")] = None,
    fault_rate: Annotated[float | None, _rate("Share of HTTP calls answered 429/500/529.")] = None,
    lost_reply_rate: Annotated[
        float | None, _rate("Share of HTTP calls whose reply is lost after the work is done.")
    ] = None,
    drop_rate: Annotated[float | None, _rate("Share of results downloads cut part-way.")] = None,
    cache_hit_rate: Annotated[float | None, _rate(
        "Share of batch requests that could read a cached prompt prefix and do (default 0.98)."
    )] = None,
    seed: Annotated[
        int | None,
        typer.Option(show_default=False, metavar="N", help="Seed of every injected outcome."),
    ] = None,
    queue_limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            show_default=False,
            metavar="N",
            help="Requests allowed in batches not yet ended; a create past it answers 429.",
        ),
    ] = None,
    rate_limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            show_default=False,
            metavar="RPM",
            help="HTTP calls allowed per minute; past it, 429 with retry-after (seconds).",
        ),
    ] = None,
    spend_limit: Annotated[
        bool,
        typer.Option(
            "--spend-limit",
            help="Every create answers the usage tier's spend-cap 429 (enforced_spend_limit_reached; "
            "BATCHCTL_EMULATOR_SPEND_LIMIT=contract|linked|ramp|workspace|linked-402|"
            "linked-billing for the other caps).",
        ),
    ] = False,
    spend_limit_after: Annotated[
        int | None, _count("With --spend-limit: only once N batches exist.")
    ] = None,
    storage_not_ready: Annotated[
        int | None, _count("The first N calls answer 503 storage_not_ready.")
    ] = None,
    overloaded: Annotated[
        int | None, _count("The first N calls answer 529 overloaded_error, retry-after 1 s.")
    ] = None,
    flaky_404_seconds: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            show_default=False,
            metavar="SECONDS",
            help="Retrieve and results answer 404 for S seconds after a create and after the end.",
        ),
    ] = None,
    results_origin: Annotated[
        str | None,
        typer.Option(
            metavar="URL", show_default=False, help="Give results_url on this origin (scheme://host:port)."
        ),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option(
            "--models",
            metavar="FILE",
            dir_okay=False,
            show_default=False,
            help="Serve this model catalogue: a JSON list of ModelInfo objects, as GET /v1/models "
            "returns them (default: the emulator's own dated catalogue).",
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log each request on stderr.")] = False,
    json_: JsonOpt = False,
) -> None:
    """Serve the local emulator of the Message Batches API over HTTP until Ctrl-C.

    Prints the two variables that point the SDKs (and batchctl) at it. Settings not given as
    flags come from BATCHCTL_EMULATOR_* variables (e.g. BATCHCTL_EMULATOR_CANCEL_SECONDS).
    """
    from batchctl.emulator import EmulatorConfig

    try:
        config = EmulatorConfig.from_env(
            os.environ,
            processing_seconds=processing_seconds,
            error_rate=error_rate,
            expire_rate=expire_rate,
            stop_rate=stop_rate,
            storage_not_ready=storage_not_ready,
            overloaded=overloaded,
            fault_rate=fault_rate,
            lost_reply_rate=lost_reply_rate,
            drop_rate=drop_rate,
            cache_hit_rate=cache_hit_rate,
            seed=seed,
            queue_limit=queue_limit,
            rate_limit=rate_limit,
            spend_limit="tier" if spend_limit else None,
            spend_limit_after=spend_limit_after,
            flaky_404_seconds=flaky_404_seconds,
            results_origin=results_origin,
            models=str(models) if models is not None else None,
        )
    except ValueError as exc:
        raise UsageError(f"emulator settings: {exc}") from None
    run_parsed(ctx, run, EmulatorOptions(host, port, data, config, verbose, json_))


@dataclass(frozen=True)
class EmulatorOptions:
    host: str
    port: int
    data: Path | None  # None: the state directory's emulator/
    config: EmulatorConfig  # the flags over BATCHCTL_EMULATOR_* variables
    verbose: bool
    json: bool


def run(actx: AppContext, opts: EmulatorOptions) -> None:
    from batchctl.emulator import EMULATOR_API_KEY, EmulatorServer, make_app

    host, port, json_ = opts.host, opts.port, opts.json
    data_dir = opts.data if opts.data is not None else actx.settings.emulator_dir
    app = make_app(data_dir, opts.config)
    try:
        server = EmulatorServer(app, host=host, port=port, verbose=opts.verbose)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another port with --port (0 = any free port)",
        ) from None

    def stop_on_term(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, stop_on_term)
    except ValueError:  # not the main thread (embedded): Ctrl-C only
        previous = None
    try:
        if json_:
            record = {
                "base_url": server.base_url,
                "api_key": EMULATOR_API_KEY,
                "data_dir": str(data_dir),
            }
            output.write_json(record)
        else:
            output.write_lines(
                [
                    f"export ANTHROPIC_BASE_URL={shlex.quote(server.base_url)}",
                    f"export ANTHROPIC_API_KEY={shlex.quote(EMULATOR_API_KEY)}",
                ]
            )
        how = (
            "Set ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY as above"
            if json_
            else "Run the two export lines above in another shell"
        )
        output.info(
            actx,
            f"batchctl emulator: serving the Message Batches API on {server.base_url} (data: {data_dir}).\n"
            f"{how}, then use batchctl or any SDK. Ctrl-C stops it.",
        )
        server.serve_forever()
    except KeyboardInterrupt:
        output.info(actx, "batchctl emulator: stopped")
    finally:
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def register(app: typer.Typer) -> None:
    app.command("emulator")(emulator)
