"""`batchctl submit` against the emulator over HTTP: output modes, stdin, OpenAI-style lines,
re-submits, splitting, and never creating a batch twice."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import orjson
import pytest

from batchctl.cli import options as cli_options
from batchctl.core.errors import StateError
from batchctl.core.events import gather
from batchctl.core.requests import scan as core_requests
from batchctl.core.state.store import Store
from batchctl.core.submit.submit import JobOptions, split_key, submit
from tests.helpers import invoke
from tests.support.emulators import sizes
from tests.support.files import MODEL, request, write_jsonl
from tests.support.runs import api_on, on


def test_piped_output_is_the_batch_id_alone(cli, emulator, seven):
    result = cli("submit", str(seven))
    assert result.exit_code == 0, result.stderr
    batches = emulator.batches()
    assert result.stdout == f"{batches[0]['id']}\n"
    assert result.stderr == ""
    assert sizes(batches) == [7]


def test_terminal_output_is_a_summary(cli, emulator, seven):
    result = cli("submit", str(seven), tty=True)
    assert result.exit_code == 0, result.stderr
    batch_id = emulator.batches()[0]["id"]
    assert batch_id in result.stdout and "PART" in result.stdout and "1-7" in result.stdout
    assert "Submitted 7 requests" in result.stderr and "job_" in result.stderr


def test_json_output_is_one_record_per_batch(cli, emulator, seven, state_dir):
    result = cli("submit", str(seven), "--json", "--label", "nightly")
    assert result.exit_code == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["id"] == emulator.batches()[0]["id"]
    assert record["job_id"].startswith("job_")
    assert (record["part"], record["parts"], record["first_line"], record["last_line"]) == (1, 1, 1, 7)
    assert record["request_count"] == 7 and record["request_counts"]["processing"] == 7
    assert record["file"] == str(seven) and record["request_file"] == str(seven.resolve())
    assert record["label"] == "nightly" and record["existing"] is False
    assert record["base_url"] == emulator.base_url
    store = Store.open(state_dir)
    try:
        row = store.get_batch(record["id"])
        job = store.get_job(record["job_id"])
    finally:
        store.close()
    assert (row["first_line"], row["last_line"], row["request_count"]) == (1, 7, 7)
    assert row["sha256"] == job["sha256"] == core_requests.scan_file(seven).sha256
    assert job["label"] == "nightly" and job["source"] == str(seven)
    assert result.stderr == ""


def test_split_job_makes_one_job_of_three_batches(cli, emulator, seven):
    result = cli("submit", str(seven), "--max-requests", "3", "--json")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["part"], r["first_line"], r["last_line"], r["request_count"]) for r in records] == [
        (1, 1, 3, 3), (2, 4, 6, 3), (3, 7, 7, 1),
    ]
    assert len({r["job_id"] for r in records}) == 1
    assert sorted(sizes(emulator.batches())) == [1, 3, 3]
    again = cli("submit", str(seven), "--max-requests", "3")
    assert again.stdout.splitlines() == [r["id"] for r in records]


def test_split_by_bytes(cli, emulator, seven):
    size = len(seven.read_bytes().splitlines()[0])  # every line has the same length
    limit = core_requests.BODY_OVERHEAD + 3 * size + 2  # room for exactly three requests
    result = cli("submit", str(seven), "--max-bytes", str(limit), "--json")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["request_count"] for r in records] == [3, 3, 1]
    assert sorted(sizes(emulator.batches())) == [1, 3, 3]
    assert cli("submit", str(seven), "--max-bytes", str(limit - 1)).stdout.count("\n") == 4


def test_resubmit_answers_the_existing_batch(cli, emulator, seven):
    first = cli("submit", str(seven))
    again = cli("submit", str(seven))
    assert again.exit_code == 0
    assert again.stdout == first.stdout
    assert "already submitted" in again.stderr and "--force" in again.stderr
    assert len(emulator.batches()) == 1
    record = json.loads(cli("submit", str(seven), "--json").stdout)
    assert record["existing"] is True and record["id"] == first.stdout.strip()


def test_force_submits_anew(cli, emulator, seven):
    first = cli("submit", str(seven))
    forced = cli("submit", str(seven), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert forced.stdout != first.stdout and forced.stdout.startswith("msgbatch_")
    assert sizes(emulator.batches()) == [7, 7]
    assert cli("submit", str(seven)).stdout == forced.stdout  # the newest job answers


def test_a_different_split_is_a_different_job(cli, emulator, seven):
    cli("submit", str(seven))
    result = cli("submit", str(seven), "--max-requests", "5")
    assert len(result.stdout.splitlines()) == 2
    assert sorted(sizes(emulator.batches())) == [2, 5, 7]


def test_stdin_is_spooled_and_deduplicated(cli, emulator, seven, state_dir):
    data = seven.read_bytes()
    result = cli("submit", "-", "--json", input=data)
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    spooled = Path(record["request_file"])
    assert record["file"] == "-"
    assert spooled.parent == state_dir / "inputs" and spooled.read_bytes() == data
    assert stat.S_IMODE(spooled.stat().st_mode) == 0o600
    assert stat.S_IMODE(spooled.parent.stat().st_mode) == 0o700
    again = cli("submit", "-", input=data)
    assert again.stdout == f"{record['id']}\n"
    assert "already submitted" in again.stderr
    from_file = cli("submit", str(seven))  # the same content from a file: the same job
    assert from_file.stdout == again.stdout
    assert len(emulator.batches()) == 1


def test_stdin_problems_are_reported_as_stdin(cli, emulator):
    result = cli("submit", "-", input=orjson.dumps(request("a")) + b"\n[]\n")
    assert result.exit_code == 3
    assert "<stdin>:2: expected a JSON object, got a list" in result.stderr
    assert emulator.batches() == []


def test_openai_style_lines_are_submitted_as_params(cli, emulator, clock, tmp_path):
    lines = [
        {"custom_id": f"o{i}", "method": "POST", "url": "/v1/messages", "body": request("x")["params"]}
        for i in range(3)
    ]
    path = tmp_path / "openai.jsonl"
    path.write_bytes(b"\r\n".join(orjson.dumps(x) for x in lines) + b"\r\n")
    result = cli("submit", str(path))
    assert result.exit_code == 0, result.stderr
    clock.advance(120)  # the emulator ends the batch after its processing time
    results = list(emulator.client().messages.batches.results(result.stdout.strip()))
    assert sorted(r.custom_id for r in results) == ["o0", "o1", "o2"]
    assert {r.result.type for r in results} == {"succeeded"}
    assert {r.result.message.model for r in results} == {MODEL}


def test_invalid_file_exits_3_and_sends_nothing(cli, emulator, tmp_path):
    bad = request("b")
    bad["params"]["max_tokens"] = 0
    path = tmp_path / "bad.jsonl"
    path.write_bytes(orjson.dumps(request("a")) + b"\n\n" + orjson.dumps(bad) + b"\n"
                     + orjson.dumps(request("a")) + b"\n")
    result = cli("submit", str(path))
    assert result.exit_code == 3
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: {path}: 2 problems; nothing was submitted"
    assert lines[1:] == [
        f"{path}:3: params.max_tokens: must be at least 1, got 0; set max_tokens to 1 or more "
        "[max-tokens-min; source: https://platform.claude.com/docs/en/build-with-claude/batch-processing]",
        f'{path}:4: custom_id "a" repeats line 1',
    ]
    assert emulator.batches() == []


def test_missing_file_and_bad_sizes_are_usage_errors(cli, tmp_path, seven):
    assert cli("submit", str(tmp_path / "nope.jsonl")).exit_code == 2
    assert cli("submit", str(tmp_path)).exit_code == 2
    result = cli("submit", str(seven), "--max-bytes", "12XB")
    assert result.exit_code == 2 and "invalid size" in result.stderr
    assert cli("submit", str(seven), "--max-bytes", "1GB").exit_code == 2
    assert cli("submit", str(seven), "--max-requests", "0").exit_code == 2


def test_dry_run_sends_nothing_and_needs_no_key(emulator, clock, seven, tmp_path):
    # No ANTHROPIC_API_KEY at all: a dry run must not build a client.
    result = invoke(["--base-url", emulator.base_url, "submit", str(seven), "--dry-run", "--json"],
                    clock=clock)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["requests"], summary["bytes"]) == (7, seven.stat().st_size)
    assert summary["parts"] == [{"part": 1, "first_line": 1, "last_line": 7, "requests": 7,
                                 "body_bytes": core_requests.scan_file(seven).parts[0].body_size,
                                 "role": None}]
    assert summary["max_output_tokens"] == 7 * 32
    tokens = summary["est_input_tokens"]
    assert tokens == 7 * 3  # "question N" is 10 characters: ceil(10 / 4)
    # claude-haiku-4-5: $1 input, $5 output per million tokens; batch rates are half.
    assert summary["est_cost_usd"] == pytest.approx((tokens * 1 + 7 * 32 * 5) / 1e6 / 2)
    assert summary["unpriced_models"] == []
    assert "nothing was sent" in result.stderr
    assert emulator.batches() == []
    assert not (tmp_path / "state" / "batchctl.db").exists()


def test_dry_run_with_an_unknown_model_gives_no_cost(cli, emulator, tmp_path):
    path = write_jsonl(tmp_path / "m.jsonl", [request("a"), request("b", model="claude-unknown-9")])
    result = cli("submit", str(path), "--dry-run", "--allow-unknown-model")
    assert result.exit_code == 0
    rows = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    assert rows["requests"] == "2"
    assert "unknown" in rows["model claude-unknown-9"]
    assert float(rows["est. cost (batch rates)"]) > 0  # the known model is priced; piped: raw
    assert "no price known for model claude-unknown-9" in result.stderr
    assert emulator.batches() == []


def test_lost_reply_on_create_is_reconciled_to_one_batch(make_emulator, clock, seven):
    emulator = make_emulator(lost_reply_rate=1.0, fault_endpoints=frozenset({"create"}))
    result = on(emulator, clock, "submit", str(seven))
    assert result.exit_code == 0, result.stderr
    batches = emulator.batches()
    assert len(batches) == 1
    assert result.stdout == f"{batches[0]['id']}\n"
    assert "may exist" in result.stderr and "found" in result.stderr
    again = on(emulator, clock, "submit", str(seven))  # tracked now: answered, not resent
    assert again.stdout == result.stdout and len(emulator.batches()) == 1


def test_lost_replies_on_a_split_job(make_emulator, clock, seven):
    emulator = make_emulator(lost_reply_rate=1.0, fault_endpoints=frozenset({"create"}))
    result = on(emulator, clock, "submit", str(seven), "--max-requests", "3")
    assert result.exit_code == 0, result.stderr
    batches = emulator.batches()
    assert sorted(sizes(batches)) == [1, 3, 3]
    assert set(result.stdout.split()) == {b["id"] for b in batches}


def test_server_errors_on_every_create_exit_6_without_a_batch(make_emulator, clock, seven):
    emulator = make_emulator(fault_rate=1.0, fault_endpoints=frozenset({"create"}))
    result = on(emulator, clock, "submit", str(seven))
    assert result.exit_code == 6
    assert result.stdout == ""
    assert emulator.batches() == []
    # Three waits between the four attempts, each the emulator's retry-after-ms (10-50 ms).
    assert len(clock.sleeps) == 3
    assert all(0.01 <= s <= 0.05 for s in clock.sleeps), clock.sleeps


def _crashed_run(state_dir: Path, base_url: str, path: Path, clock) -> dict:
    """What a run that died after recording its intent leaves in the store."""
    scan = core_requests.scan_file(path)
    store = Store.open(state_dir, clock=clock)
    try:
        job = store.insert_job(
            base_url=base_url, request_file=scan.path, source=str(path), sha256=scan.sha256,
            byte_size=scan.byte_size, request_count=scan.request_count,
            part_count=len(scan.parts), split_key=split_key(scan), label=None, betas=[],
        )
        store.open_intent(job_id=job["id"], part=1, request_count=scan.request_count)
    finally:
        store.close()
    return job


def test_crash_between_create_and_record_adopts_the_batch(emulator, clock, seven, state_dir):
    job = _crashed_run(state_dir, emulator.base_url, seven, clock)
    made = emulator.client().messages.batches.create(  # the create that went through
        requests=[json.loads(line) for line in seven.read_text().splitlines()]
    )
    result = on(emulator, clock, "submit", str(seven), "--json")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert (record["id"], record["job_id"]) == (made.id, job["id"])
    assert len(emulator.batches()) == 1
    assert "earlier submit" in result.stderr


def test_crash_before_create_creates_once(emulator, clock, seven, state_dir):
    old = emulator.client().messages.batches.create(  # same size, but made before the intent
        requests=[json.loads(line) for line in seven.read_text().splitlines()]
    )
    clock.advance(3600)
    _crashed_run(state_dir, emulator.base_url, seven, clock)
    result = on(emulator, clock, "submit", str(seven))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() != old.id
    assert len(emulator.batches()) == 2


def test_a_batch_tracked_by_another_job_is_not_adopted(emulator, clock, seven, tmp_path, state_dir):
    _crashed_run(state_dir, emulator.base_url, seven, clock)
    other = write_jsonl(tmp_path / "other.jsonl", [request(f"x{i}") for i in range(7)])
    tracked = on(emulator, clock, "submit", str(other)).stdout.strip()  # same count, later
    result = on(emulator, clock, "submit", str(seven))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() not in ("", tracked)
    assert len(emulator.batches()) == 2


def test_a_file_changed_after_the_check_is_not_submitted(emulator, clock, seven, state_dir):

    scan = core_requests.scan_file(seven)
    seven.write_bytes(seven.read_bytes().replace(b"question 3", b"QUESTION 3"))
    api = api_on(emulator, clock, state_dir)
    store = Store.open(state_dir, clock=clock)
    try:
        with pytest.raises(StateError):
            gather(submit(api, store, scan, JobOptions(str(seven)), clock=clock))
    finally:
        api.close()
        store.close()
    assert emulator.batches() == []


def test_beta_and_label_are_recorded(cli, emulator, seven, state_dir):
    # Two betas the API knows (the emulator refuses others, as the API does: BATCHES_API.md 12.5).
    result = cli("submit", str(seven), "--beta", "files-api-2025-04-14", "--beta",
                 "extended-cache-ttl-2025-04-11", "--json",
                 "--label", "exp 1")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    store = Store.open(state_dir)
    try:
        job = store.get_job(record["job_id"])
    finally:
        store.close()
    assert job["betas"] == ["files-api-2025-04-14", "extended-cache-ttl-2025-04-11"]
    assert job["label"] == record["label"] == "exp 1"


def test_state_files_are_private(cli, emulator, seven, state_dir):
    assert cli("submit", str(seven)).exit_code == 0
    db = state_dir / "batchctl.db"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_cli_defaults_match_the_core():
    assert cli_options.DEFAULT_MAX_REQUESTS == core_requests.DEFAULT_MAX_REQUESTS
    assert core_requests.parse_size(cli_options.DEFAULT_MAX_BYTES) == core_requests.DEFAULT_MAX_BYTES


def test_a_refused_connection_is_exit_6_at_once_with_nothing_sent(clock, seven, state_dir):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = on(f"http://127.0.0.1:{port}", clock, "submit", str(seven))
    assert result.exit_code == 6
    assert result.stdout == ""
    assert f"could not connect to http://127.0.0.1:{port}: connection refused" in result.stderr
    assert clock.sleeps == []  # refused: nothing was sent, and trying again would not help


def test_a_lost_reply_that_cannot_be_checked_stops_and_the_next_run_checks(
    make_emulator, clock, seven, state_dir
):
    lost = make_emulator(lost_reply_rate=1.0, fault_endpoints=frozenset({"create", "list"}))
    # (api_max_retries=0: the SDK's own retries of the list would sleep in real time.)
    result = on(lost, clock, "submit", str(seven), api_max_retries=0)
    assert result.exit_code == 6
    assert "could not check whether the batch was created" in result.stderr
    assert "carry on: it looks for the batch before sending anything" in result.stderr
    assert " wait job_" in result.stderr
    assert clock.sleeps == []  # nothing sent a second time
    store = Store.open(state_dir)
    try:
        job = store.find_job(sha256=core_requests.scan_file(seven).sha256,
                             split_key="1-7", base_url=lost.base_url)
        assert store.get_intent(job["id"], 1)["state"] == "open"
    finally:
        store.close()
    # The same API (same data, same address) back without faults: the next run adopts the batch.
    from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

    lost.server.stop()
    app = make_app(lost.data_dir, EmulatorConfig(processing_seconds=60), clock=clock.time)
    server = EmulatorServer(app, port=lost.server.port).start()
    try:
        assert server.base_url == lost.base_url
        again = on(lost, clock, "submit", str(seven), "--json")
        (made,) = lost.batches()
    finally:
        server.stop()
    assert again.exit_code == 0, again.stderr
    record = json.loads(again.stdout)
    assert (record["id"], record["job_id"]) == (made["id"], job["id"])
    assert "earlier submit" in again.stderr


# -- adoption after a lost reply is only a guess until the results can be checked -----------------
def _other_client_batch(emulator, prefix: str, n: int = 7) -> str:
    """A batch of the same size made by someone else (another host, another store), through a
    second, fault-free server on the same emulator data."""
    import anthropic

    from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

    app = make_app(emulator.data_dir, EmulatorConfig(processing_seconds=10),
                   clock=emulator.clock.time)
    with EmulatorServer(app) as server:
        client = anthropic.Anthropic(api_key="someone-else", base_url=server.base_url,
                                     max_retries=0)
        return client.messages.batches.create(
            requests=[request(f"{prefix}{i}", f"someone else's question {i}") for i in range(n)]
        ).id


def test_a_foreign_batch_adopted_after_a_failed_create_is_caught_by_results(
    make_emulator, clock, seven, tmp_path, state_dir
):
    # Our create fails with a 5xx (nothing created), while another client has just made a batch
    # of the same size: reconciliation can only match on size and time, so it adopts that one.
    emulator = make_emulator(fault_rate=1.0, fault_endpoints=frozenset({"create"}),
                             processing_seconds=10)
    theirs = _other_client_batch(emulator, "hostB-")
    result = on(emulator, clock, "submit", str(seven))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == theirs
    assert "checked when its results are fetched" in result.stderr
    store = Store.open(state_dir)
    assert store.get_batch(theirs)["adoption"] == "unverified"
    clock.advance(60)
    out = tmp_path / "answers.jsonl"
    fetched = on(emulator, clock, "results", theirs, "-o", str(out))
    assert fetched.exit_code == 7
    assert "another client's batch" in fetched.stderr and "never sent" in fetched.stderr
    assert "submit --force" in fetched.stderr
    # The README: a hint carries --force only where nothing else sends them, and says so.
    assert all("billed again" in x for x in fetched.stderr.splitlines() if "--force" in x)
    assert fetched.stdout == "" and not out.exists()  # nobody gets hostB's answers as ours
    assert store.get_batch(theirs)["adoption"] == "foreign"
    again = on(emulator, clock, "results", theirs)  # stays refused, without a download
    assert again.exit_code == 7 and again.stdout == ""


def test_several_candidates_are_refused_not_guessed(make_emulator, clock, seven, state_dir):
    emulator = make_emulator(fault_rate=1.0, fault_endpoints=frozenset({"create"}))
    first = _other_client_batch(emulator, "a")
    second = _other_client_batch(emulator, "b")
    result = on(emulator, clock, "submit", str(seven))
    assert result.exit_code == 7
    assert result.stdout == ""
    assert first in result.stderr and second in result.stderr
    assert "will not guess" in result.stderr
    forced = [x for x in result.stderr.splitlines() if "--force" in x]
    assert forced and all("billed again" in x for x in forced)
    store = Store.open(state_dir)
    assert store.get_batch(first) is None and store.get_batch(second) is None
    job = store.find_job(sha256=core_requests.scan_file(seven).sha256,
                         split_key=split_key(core_requests.scan_file(seven)),
                         base_url=emulator.base_url)
    assert store.get_intent(job["id"], 1)["state"] == "open"  # the next run checks again


def test_our_own_adopted_batch_is_verified_and_its_results_flow(
    make_emulator, clock, seven, state_dir
):
    emulator = make_emulator(lost_reply_rate=1.0, fault_endpoints=frozenset({"create"}),
                             processing_seconds=10)
    batch_id = on(emulator, clock, "submit", str(seven)).stdout.strip()
    store = Store.open(state_dir)
    assert store.get_batch(batch_id)["adoption"] == "unverified"
    clock.advance(60)
    fetched = on(emulator, clock, "results", batch_id)
    assert fetched.exit_code == 0, fetched.stderr
    ids = sorted(json.loads(line)["custom_id"] for line in fetched.stdout.splitlines())
    assert ids == sorted(f"r{i}" for i in range(7))
    assert store.get_batch(batch_id)["adoption"] == "verified"
