"""Flag parsing alone, for every command (gh's ``NewCmdX(f, runF)``): each command is run with a
stand-in for its run function (``Overrides.run``), which records the options value the command
parsed its flags into. No emulator, no store, no HTTP: what is asserted is what the command
understood, and the usage errors it gives before anything would run."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.cli.context import Overrides
from batchctl.cli.iostreams import IOStreams


class Parsed:
    """What ``batchctl ARGS`` handed to its run function, and what it said."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.handed: list[Any] = []
        self.io = IOStreams.test()
        overrides = Overrides(io=self.io, run=lambda _actx, options: self.handed.append(options))
        self.result = CliRunner().invoke(app, list(args), obj=overrides, env=env)

    @property
    def options(self) -> Any:
        assert self.result.exit_code == 0, (self.result.exit_code, self.stderr, self.result.output)
        assert len(self.handed) == 1, self.handed
        return self.handed[0]

    @property
    def stderr(self) -> str:
        return self.io.written(stderr=True)

    def refused(self) -> str:
        """The usage error (exit 2, nothing run, nothing on stdout): its first line."""
        assert self.result.exit_code == 2, (self.result.exit_code, self.stderr)
        assert self.handed == [] and self.io.written() == ""
        return self.stderr.splitlines()[0]


def fields(options: Any, *names: str) -> dict[str, Any]:
    every = asdict(options)
    return {name: every[name] for name in names}


# -- status, wait, list, cancel, delete -----------------------------------------------------------
def test_status() -> None:
    options = Parsed("status", "job_a", "msgbatch_b", "--json", "--exit-status").options
    assert asdict(options) == {"refs": ["job_a", "msgbatch_b"], "json": True,
                               "exit_status": True, "wide": False}
    assert Parsed("status", "-w").options.refs == []


def test_wait() -> None:
    options = Parsed("wait", "job_a", "--timeout", "90", "--interval", "2.5").options
    assert asdict(options) == {"refs": ["job_a"], "timeout": 90.0, "interval": 2.5,
                               "exit_status": False, "json": False, "hook": None}
    hook = Parsed("wait", "job_a", "--on-end", "notify-send done", env={"X_HOOK": "1"}).options.hook
    assert (hook.command, hook.trigger, hook.flag) == ("notify-send done", "wait", "--on-end")
    assert hook.inherited["X_HOOK"] == "1"  # the hook inherits batchctl's environment
    assert Parsed("wait", "job_a", "--on-end", " ").refused() == \
        "error: --on-end: the command is empty"
    assert Parsed("wait").refused() == "error: missing argument ID|JOB..."
    assert Parsed("wait", "j", "--interval", "0").refused() == \
        "error: --interval must be at least 0.1, got 0"


def test_list() -> None:
    assert asdict(Parsed("list").options) == {"cap": 20, "local": False, "status": None,
                                              "json": False, "wide": False}
    options = Parsed("list", "-n", "5", "--local", "--status", "ended", "--json").options
    assert fields(options, "cap", "local", "status", "json") == {
        "cap": 5, "local": True, "status": "ended", "json": True}
    assert Parsed("list", "--all").options.cap is None
    assert Parsed("list", "--all", "-n", "3").refused() == "error: give --limit or --all, not both"
    assert Parsed("list", "--status", "done").refused() == \
        "error: --status must be one of: in_progress, canceling, ended; got 'done'"


@pytest.mark.parametrize("command", ["cancel", "delete"])
def test_cancel_and_delete(command: str) -> None:
    options = Parsed(command, "job_a", "job_b", "-y").options
    assert asdict(options) == {"refs": ["job_a", "job_b"], "yes": True, "json": False}
    assert Parsed(command, "job_a", "--yes=no").refused() == "error: --yes takes no value"


# -- submit and run ---------------------------------------------------------------------------------
def test_submit() -> None:
    options = Parsed("submit", "f.jsonl", "--max-requests", "500", "--max-bytes", "1MiB",
                     "--max-cost", "2.50", "--label", "nightly", "--beta", "a", "--beta", "b",
                     "--max-queued", "10", "--force", "--json").options
    sending = options.send
    assert (sending.file, sending.label, sending.betas, sending.force, sending.max_queued,
            options.json, sending.dry_run) == ("f.jsonl", "nightly", ("a", "b"), True, 10,
                                               True, False)
    assert (sending.limits.max_requests, sending.limits.max_bytes, sending.limits.max_cost) == (
        500, 1 << 20, 2.5)
    assert Parsed("submit", "-", "--dry-run", "--all-problems").options.send.checks.all_problems


def test_submit_refuses_before_anything_is_read() -> None:
    assert Parsed("submit", "f.jsonl", "--count-tokens").refused() == \
        "error: --count-tokens goes with --dry-run (it counts what would be sent)"
    assert Parsed("submit", "f.jsonl", "--max-requests", "0").refused() == \
        "error: --max-requests must be at least 1, got 0"
    assert Parsed("submit").refused() == "error: missing argument FILE|-"


def test_run(tmp_path: Path) -> None:
    out = tmp_path / "answers.csv"
    options = Parsed("run", "f.jsonl", "-o", str(out), "--only", "succeeded", "--timeout", "60",
                     "--exit-status", "--label", "ci").options
    assert (options.send.file, options.write.out, options.timeout, options.exit_status,
            options.send.label) == ("f.jsonl", out, 60.0, True, "ci")
    export = options.write.export
    assert export.format == "csv" and export.only == frozenset({"succeeded"})
    assert options.write.results_args == ("-o", str(out), "--only", "succeeded")
    assert options.interval is None and options.hook is None
    hook = Parsed("run", "f.jsonl", "--on-end", "./after.sh").options.hook
    assert (hook.command, hook.trigger, hook.flag) == ("./after.sh", "run", "--on-end")
    # The in-process emulator is polled every second unless --interval says otherwise.
    assert Parsed("--emulator", "run", "f.jsonl").options.interval == 1.0
    assert Parsed("--emulator", "run", "f.jsonl", "--interval", "3").options.interval == 3.0
    assert Parsed("run", "f.jsonl", "-o", "-").options.write.out is None  # - is stdout


def test_run_refuses_before_anything_is_sent(tmp_path: Path) -> None:
    assert Parsed("run", "f.jsonl", "-o", str(tmp_path)).refused() == \
        f"error: --output {tmp_path}: is a directory"
    assert Parsed("run", "f.jsonl", "--count-tokens").refused().startswith(
        "error: --count-tokens goes with --dry-run")
    assert Parsed("run", "f.jsonl", "--order", "random").refused().startswith("error: --order")


# -- results, retry-failed, collect -----------------------------------------------------------------
def test_results(tmp_path: Path) -> None:
    options = Parsed("results", "job_a", "--format", "csv", "--order", "api",
                     "--merge-retries", "--extract", "json").options
    assert (options.ref, options.write.out, options.write.json) == ("job_a", None, False)
    export = options.write.export
    assert (export.format, export.order, export.merge_retries) == ("csv", "api", True)
    assert export.extract is not None
    data = tmp_path / "rows.csv"
    data.write_text("id,q\n1,a\n")
    joined = Parsed("results", "job_a", "--join", str(data), "--id-column", "id").options
    assert joined.write.export.join is not None


def test_results_refusals(tmp_path: Path) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("id\n1\n")
    assert Parsed("results", "job_a", str(data)).refused() == \
        f"error: unexpected argument '{data}': a data file goes with --join"
    assert Parsed("results", "job_a", "--join", str(tmp_path / "no.csv")).refused() == \
        f"error: DATA {tmp_path / 'no.csv'}: no such file"
    assert Parsed("results", "job_a", "--only", "won").refused().startswith("error: --only")


def test_retry_failed(tmp_path: Path) -> None:
    options = Parsed("retry-failed", "msgbatch_a", "--all-errors", "--include-canceled",
                     "--force").options
    assert asdict(options) == {"ref": "msgbatch_a", "all_errors": True, "include_canceled": True,
                               "out": None, "to_stdout": False, "dry_run": False, "force": True,
                               "request_file": None, "json": False}
    options = Parsed("retry-failed", "job_a", "-o", "-", "--dry-run").options
    assert (options.out, options.to_stdout, options.dry_run) == (None, True, True)
    assert Parsed("retry-failed", "job_a", "-o", "-").refused().startswith(
        "error: -o - writes the retry requests to stdout, so it needs --dry-run")
    assert Parsed("retry-failed", "job_a", "--request-file", str(tmp_path / "x")).refused() == \
        f"error: --request-file {tmp_path / 'x'}: no such file"


def test_collect(tmp_path: Path) -> None:
    assert asdict(Parsed("collect").options) == {"directory": None, "fmt": "jsonl",
                                                 "json": False, "hook": None}
    options = Parsed("collect", "-d", str(tmp_path), "-f", "csv", "--json").options
    assert asdict(options) == {"directory": tmp_path, "fmt": "csv", "json": True, "hook": None}
    hook = Parsed("collect", "--exec", 'mail -s done me < "$BATCHCTL_RESULTS_PATH"').options.hook
    assert (hook.command, hook.trigger, hook.flag) == (
        'mail -s done me < "$BATCHCTL_RESULTS_PATH"', "collect", "--exec")
    assert Parsed("collect", "--exec", "").refused() == "error: --exec: the command is empty"
    assert Parsed("collect", "--format", "xml").refused() == \
        "error: --format must be one of: jsonl, csv; got 'xml'"
    a_file = tmp_path / "f"
    a_file.write_text("")
    assert Parsed("collect", "--dir", str(a_file)).refused() == f"error: --dir {a_file}: is a file"


# -- prepare, emulator, state -----------------------------------------------------------------------
def test_prepare() -> None:
    spec = Parsed("prepare", "prompts.txt", "-m", "claude-opus-4-5", "--max-tokens", "300",
                  "--system", "Be brief.", "--id-prefix", "q-").options
    assert (spec.source, spec.model, spec.max_tokens, spec.system, spec.id_prefix) == (
        "prompts.txt", "claude-opus-4-5", 300, "Be brief.", "q-")
    assert Parsed("prepare", "x.txt", env={"BATCHCTL_MODEL": "claude-m"}).options.model == \
        "claude-m"
    assert Parsed("prepare", "x.txt", "--max-tokens", "-1").refused() == \
        "error: --max-tokens must be at least 1, got -1"


def test_emulator() -> None:
    options = Parsed("emulator", "--port", "0", "--error-rate", "0.25", "--seed", "7",
                     "--queue-limit", "100", "--cache-hit-rate", "0.5").options
    assert (options.host, options.port, options.data, options.verbose) == ("127.0.0.1", 0, None,
                                                                           False)
    config = options.config
    assert (config.error_rate, config.seed, config.queue_limit, config.cache_hit_rate) == (
        0.25, 7, 100, 0.5)
    assert Parsed("emulator", "--error-rate", "2").refused() == \
        "error: --error-rate must be at most 1.0, got 2"


def test_state_commands() -> None:
    assert asdict(Parsed("state", "path", "--dir").options) == {"json": False, "dir": True}
    assert asdict(Parsed("state", "export", "out.jsonl", "--json").options) == {
        "file": Path("out.jsonl"), "json": True}
    assert asdict(Parsed("state", "import", "-").options) == {"file": Path("-"), "json": False}
    assert Parsed("state", "export", "-", "--json").refused().startswith(
        "error: --json reports an export to FILE on stdout")


def test_global_options_reach_every_command_however_placed(tmp_path: Path) -> None:
    parsed = Parsed("status", "job_a", "--state-dir", str(tmp_path), "--json")
    assert parsed.options.refs == ["job_a"] and parsed.options.json
    a_file = tmp_path / "f"
    a_file.write_text("")
    assert Parsed("--state-dir", str(a_file), "status").refused() == \
        f"error: --state-dir {a_file}: is a file"


# Refusals found while parsing, which tests elsewhere also reach through an emulator.
@pytest.mark.parametrize(("args", "words"), [
    (["results", "job_a", "--thinking"], "--thinking"),
    (["results", "job_a", "--extract", "yaml"], "--extract must be 'json' or 'tool:NAME'"),
    (["results", "job_a", "--extract", "tool:"], "--extract must be 'json' or 'tool:NAME'"),
    (["results", "job_a", "-o", "answers.json"], "answers.jsonl"),
    (["results", "job_a", "-o", "r.csv", "--json"], "--json"),
    (["results", "job_a", "--format", "xml"], "--format"),
    (["results", "job_a", "--only", "succeeded,bogus"], "bogus"),
    (["submit", "f.jsonl", "--max-cost", "five"], "--max-cost must be an amount in USD"),
    (["submit", "f.jsonl", "--max-bytes", "12XB"], "invalid size"),
    (["submit", "f.jsonl", "--max-bytes", "1GB"], "--max-bytes"),
    (["submit", "f.jsonl", "--api-version", "yesterday"],
     "--api-version 'yesterday': expected a date"),
    (["run", "f.jsonl", "-o", "x.xlsx"], ".jsonl"),
])
def test_refused_while_parsing(args: list[str], words: str) -> None:
    parsed = Parsed(*args)
    assert parsed.refused().startswith("error: ")
    assert words in parsed.stderr
