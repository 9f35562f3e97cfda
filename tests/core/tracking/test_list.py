"""`batchctl list`: remote paging (45 batches, --limit 20, --all), the join with the store,
--status, --local without network or key, rendering, and exit codes."""

from __future__ import annotations

import pytest

from batchctl.cli.render.batches import TSV_COLUMNS
from batchctl.core.state.store import Store
from batchctl.core.tracking.listing import ALL_PAGE, list_remote
from tests.helpers import invoke
from tests.support.files import json_lines, write_requests
from tests.support.runs import api_on, assert_plain, closed_port_url, on, sdk_batch, sdk_batches, submit


@pytest.fixture
def forty_five(emulator) -> list[str]:
    """45 batches made with the SDK; their ids newest first."""
    return list(reversed(sdk_batches(emulator, 45)))


def ids_of(stdout: str) -> list[str]:
    return [line.split("\t")[0] for line in stdout.splitlines()]


def test_default_and_limit_20_show_the_newest_20(cli, forty_five):
    default = cli("list")
    assert default.exit_code == 0, default.stderr
    assert ids_of(default.stdout) == forty_five[:20]
    limited = cli("list", "--limit", "20")
    assert ids_of(limited.stdout) == forty_five[:20]
    assert ids_of(cli("list", "-n", "7").stdout) == forty_five[:7]
    assert_plain(default.stdout + default.stderr)


def test_all_pages_through_every_batch(cli, forty_five):
    result = cli("list", "--all")
    assert result.exit_code == 0, result.stderr
    assert ids_of(result.stdout) == forty_five
    records = json_lines(cli("list", "--all", "--json").stdout)
    assert [r["id"] for r in records] == forty_five
    assert all(r["type"] == "message_batch" for r in records)


def test_core_paging_follows_the_cursor_page_by_page(emulator, state_dir, clock):
    newest_first = list(reversed(sdk_batches(emulator, ALL_PAGE + 5)))
    api = api_on(emulator, clock, state_dir)
    store = Store.open(state_dir, clock=clock)
    try:
        every = list(list_remote(api, store, base_url=api.base_url, limit=None))
        assert [r["id"] for r in every] == newest_first  # 2 pages: 100 + 5
        limit = ALL_PAGE + 2  # a filtered listing reads ALL_PAGE a page: stops inside the second
        some = list(list_remote(api, store, base_url=api.base_url, limit=limit,
                                status="in_progress"))
        assert [r["id"] for r in some] == newest_first[:limit]
    finally:
        api.close()
        store.close()


def test_rows_are_joined_with_the_store(cli, emulator, tmp_path):
    untracked = sdk_batch(emulator)
    job, (tracked,) = submit(cli, write_requests(tmp_path / "mine.jsonl", 3))
    rows = {r[0]: dict(zip(TSV_COLUMNS, r, strict=True))
            for r in (line.split("\t") for line in cli("list").stdout.splitlines())}
    assert rows[tracked]["job"] == job
    assert rows[tracked]["request_file"] == str(tmp_path / "mine.jsonl")
    assert rows[untracked]["job"] == "" and rows[untracked]["request_file"] == ""
    records = {r["id"]: r for r in json_lines(cli("list", "--json").stdout)}
    assert records[tracked]["job_id"] == job and records[untracked]["job_id"] is None


def test_status_filter(cli, emulator, clock):
    old = sdk_batches(emulator, 3)
    clock.advance(120)  # the first three have ended
    new = sdk_batches(emulator, 2)
    assert ids_of(cli("list", "--status", "ended").stdout) == old[::-1]
    assert ids_of(cli("list", "--status", "in_progress").stdout) == new[::-1]
    assert ids_of(cli("list", "--status", "ended", "--limit", "2").stdout) == old[::-1][:2]
    assert cli("list", "--status", "canceling").stdout == ""


def test_terminal_table_and_empty_list(cli, emulator):
    empty = cli("list")
    assert empty.exit_code == 0
    assert empty.stdout == ""
    assert "no batches" in empty.stderr
    batch = sdk_batch(emulator)
    tty = cli("list", tty=True, width=160)
    assert tty.exit_code == 0
    assert "ID" in tty.stdout and "STATUS" in tty.stdout and batch[:17] + "…" in tty.stdout
    assert "\x1b[" in tty.stdout and "\t" not in tty.stdout
    assert batch in cli("list", "--wide", tty=True, width=160).stdout  # the whole id


def test_local_needs_no_network_and_no_key(cli, tmp_path, state_dir, clock):
    job, ids = submit(cli, write_requests(tmp_path / "a.jsonl", 4), "--max-requests", "2")
    store = Store.open(state_dir, clock=clock)
    base_url = store.get_batch(ids[0])["base_url"]
    store.mark_deleted(ids[0])
    store.close()
    # The API is unreachable and there is no key: building the API client would fail (exit 4).
    result = invoke(["--base-url", base_url, "list", "--local"])
    assert result.exit_code == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert {r[0] for r in rows} == set(ids)
    status = {r[0]: r[1] for r in rows}
    assert status[ids[0]] == "deleted" and status[ids[1]] == "in_progress"
    records = {r["id"]: r for r in json_lines(
        invoke(["--base-url", base_url, "list", "--local", "--json"]).stdout)}
    assert records[ids[0]]["deleted_at"] is not None and records[ids[1]]["deleted_at"] is None
    assert records[ids[1]]["job_id"] == job and records[ids[1]]["last_seen_at"]
    only = invoke(["--base-url", base_url, "list", "--local", "--status", "in_progress"])
    assert ids_of(only.stdout) == [ids[1]]


def test_local_is_scoped_to_the_base_url(cli, tmp_path):
    submit(cli, write_requests(tmp_path / "a.jsonl", 1))
    elsewhere = invoke(["--base-url", closed_port_url(), "list", "--local"])
    assert elsewhere.exit_code == 0
    assert elsewhere.stdout == ""


@pytest.mark.parametrize(
    "args", [["--limit", "0"], ["--all", "--limit", "5"], ["--status", "done"]]
)
def test_bad_flags_are_exit_2(cli, args):
    result = cli("list", *args)
    assert result.exit_code == 2
    assert result.stdout == ""


def test_no_key_is_exit_4_api_down_is_exit_6_corrupt_store_is_exit_7(cli, state_dir):
    no_key = cli("list", env={"ANTHROPIC_API_KEY": None})
    assert no_key.exit_code == 4
    down = on(closed_port_url(), None, "list", api_max_retries=0)
    assert down.exit_code == 6
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "batchctl.db").write_bytes(b"garbage" * 500)
    corrupt = cli("list", "--local")
    assert corrupt.exit_code == 7
