"""Choosing the state store: --store / BATCHCTL_STORE, `state path`, the masked password, the
missing driver, and a submit through the CLI on each backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from batchctl.core.location import parse_store
from tests.helpers import invoke
from tests.support.files import write_requests
from tests.support.processes import run_main
from tests.support.runs import on

SECRET = "pa55-w0rd-CANARY"
URL = f"postgresql://alice:{SECRET}@127.0.0.1:1/fleet?sslmode=disable"


def test_sqlite_is_the_default_and_state_path_names_the_file(state_dir: Path) -> None:
    result = invoke(["state", "path", "--json"])
    record = json.loads(result.stdout)
    assert record["backend"] == "sqlite"
    assert record["store"] == str(state_dir / "batchctl.db")


def test_state_path_shows_the_postgres_url_masked(state_dir: Path) -> None:
    for args, env in (
        (["--store", URL, "state", "path"], None),
        (["state", "path"], {"BATCHCTL_STORE": URL}),
    ):
        result = invoke(args, env=env)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == "postgresql://alice:***@127.0.0.1:1/fleet?sslmode=disable\n"
        assert SECRET not in result.stdout + result.stderr
    record = json.loads(invoke(["--store", URL, "state", "path", "--json"]).stdout)
    assert record["backend"] == "postgresql" and SECRET not in json.dumps(record)


def test_masking_covers_query_and_keyword_passwords() -> None:
    assert parse_store(f"postgresql:///db?host=/s&password={SECRET}").masked == (
        "postgresql:///db?host=/s&password=***")
    where = parse_store(f"host=db.internal password={SECRET} dbname=fleet")
    assert where.masked == "host=db.internal password=*** dbname=fleet"
    assert where.scrub(f"FATAL: bad password {SECRET}") == "FATAL: bad password ***"
    assert parse_store("service=batchctl").is_postgres


def test_an_unknown_store_is_a_usage_error_with_the_password_masked() -> None:
    result = invoke(["--store", f"mysql://bob:{SECRET}@h/db", "state", "path"])
    assert result.exit_code == 2
    assert "mysql://bob:***@h/db" in result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_an_unreachable_server_is_a_state_error_without_the_password() -> None:
    result = invoke(["--store", URL, "list", "--local"])
    assert result.exit_code == 7, result.stderr
    assert result.stdout == ""
    assert "cannot connect to the state store postgresql://alice:***@127.0.0.1:1/fleet" in (
        result.stderr)
    assert SECRET not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_driver_is_one_line_with_the_install_command(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['psycopg'] = None  # as if the extra was not installed\n"
        "from batchctl.cli.app import main\n"
        f"sys.argv = ['batchctl', '--store', {URL!r}, 'list', '--local']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env={"BATCHCTL_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 7
    assert done.stdout == ""
    assert done.stderr == ("error: the PostgreSQL store needs the psycopg driver: "
                           "pip install 'batchctl[postgres]'\n")


def test_import_and_help_load_nothing_of_psycopg() -> None:
    _, loaded = run_main(["--store", "postgresql://x/y", "--help"])
    assert [m for m in loaded if m.startswith("psycopg")] == []


def test_submit_and_list_through_the_cli_on_each_backend(emulator, store_value: str,
                                                         tmp_path: Path) -> None:
    path = write_requests(tmp_path / "two.jsonl", 2, text="q{i}", max_tokens=16)
    env = {"BATCHCTL_STORE": store_value}
    first = on(emulator, None, "submit", str(path), env=env)
    assert first.exit_code == 0, first.stderr
    again = on(emulator, None, "submit", str(path), env=env)
    assert again.stdout == first.stdout  # the same content: the batch that exists
    listed = on(emulator, None, "list", "--local", "--json", env=env)
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == [
        first.stdout.strip()]


@pytest.mark.parametrize("value", ["sqlite", "SQLite", ""])
def test_sqlite_spellings(value: str) -> None:
    assert not parse_store(value).is_postgres
