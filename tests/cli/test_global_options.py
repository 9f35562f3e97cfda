"""The global options (--emulator, --base-url, --state-dir, --store) work before or after the
command, and the environment's conflicting choices are refused like the flags' are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchctl.cli.app import hoist_global_options
from tests.helpers import invoke


def state(*args: str, env: dict[str, str | None] | None = None) -> dict:
    result = invoke([*args], env=env)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("where", ["before", "after", "after the sub-command"])
def test_global_options_work_after_the_command(where: str, tmp_path: Path) -> None:
    opts = ["--emulator", "--state-dir", str(tmp_path / "x")]
    args = {
        "before": [*opts, "state", "path", "--json"],
        "after": ["state", *opts, "path", "--json"],
        "after the sub-command": ["state", "path", "--json", *opts],
    }[where]
    record = state(*args)
    assert record["base_url"].startswith("http://batchctl-emulator")
    assert record["state_dir"] == str(tmp_path / "x")


def test_status_emulator_works_like_emulator_status(tmp_path: Path) -> None:
    after = invoke(["status", "--emulator", "--state-dir", str(tmp_path)])
    before = invoke(["--emulator", "--state-dir", str(tmp_path), "status"])
    assert after.exit_code == before.exit_code == 0, after.stderr
    assert after.stderr == before.stderr and "batchctl-emulator" in after.stderr
    assert "No such option" not in after.stderr


def test_hoisting_leaves_everything_else_in_place() -> None:
    assert hoist_global_options(["run", "f.jsonl", "--base-url=http://h", "-o", "o.csv"]) == [
        "--base-url=http://h", "run", "f.jsonl", "-o", "o.csv"]
    assert hoist_global_options(["--state-dir", "d", "wait", "--emulator", "job_1"]) == [
        "--state-dir", "d", "--emulator", "wait", "job_1"]
    assert hoist_global_options(["prepare", "--", "--emulator"]) == ["prepare", "--", "--emulator"]
    assert hoist_global_options(["--version"]) == ["--version"]


def test_emulator_and_base_url_from_the_environment_are_refused_like_the_flags() -> None:
    env = {"BATCHCTL_EMULATOR": "1", "ANTHROPIC_BASE_URL": "http://127.0.0.1:1"}
    result = invoke(["state", "path"], env=env)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(
        "error: BATCHCTL_EMULATOR=1 (set in the environment) and ANTHROPIC_BASE_URL (set in the "
        "environment) cannot be used together")
    assert "--no-emulator" in result.stderr


def test_emulator_in_the_environment_and_a_base_url_flag_are_refused() -> None:
    result = invoke(["--base-url", "http://127.0.0.1:1", "state", "path"],
                    env={"BATCHCTL_EMULATOR": "1"})
    assert result.exit_code == 2
    assert "BATCHCTL_EMULATOR=1 (set in the environment) and --base-url" in result.stderr


def test_a_flag_settles_what_the_environment_leaves_open() -> None:
    env = {"BATCHCTL_EMULATOR": "1", "ANTHROPIC_BASE_URL": "http://127.0.0.1:1"}
    assert state("--emulator", "state", "path", "--json", env=env)["base_url"].startswith(
        "http://batchctl-emulator")
    assert state("--no-emulator", "state", "path", "--json", env=env)["base_url"] == (
        "http://127.0.0.1:1")
    assert state("state", "path", "--json", env={"BATCHCTL_EMULATOR": "1",
                                                 "ANTHROPIC_BASE_URL": ""})["base_url"].startswith(
        "http://batchctl-emulator")
