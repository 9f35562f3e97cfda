"""`batchctl retry-failed`: selection, the rebuilt file, the parent link, the refusals."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest

from batchctl.core.state.store import Store
from batchctl.core.workflows.retry import RETRYABLE_ERRORS, Rules
from tests.support.files import request as any_request
from tests.support.runs import cli_on, submit

ANSI = "\x1b["
request = partial(any_request, model="claude-sonnet-4-6", max_tokens=64)


def results_of(run: Any, batch_id: str) -> dict[str, dict[str, Any]]:
    out = run("results", batch_id)
    assert out.exit_code == 0, out.stderr
    return {r["custom_id"]: r["result"] for r in map(json.loads, out.stdout.splitlines())}


def kind(result: dict[str, Any]) -> str:
    if result["type"] == "errored":
        return f"errored: {result['error']['error']['type']}"
    return str(result["type"])


@pytest.fixture
def failed(tmp_path: Path, make_emulator: Any, clock: Any) -> dict[str, Any]:
    """An ended batch with retryable errors, expiries, invalid requests and successes. The
    request file mixes blank lines, OpenAI-style lines and extra spacing, to show that retry
    lines are copied as written."""
    emu = make_emulator(error_rate=0.25, expire_rate=0.15, seed=11)
    run = cli_on(emu, clock)
    lines = []
    for i in range(40):
        if i % 7 == 3:  # rejected by the API: a block type batchctl does not know only warns
            bad = request(f"x{i}", f"t{i}")
            bad["params"]["messages"][0]["content"] = [{"type": "hologram", "text": "?"}]
            lines.append(orjson.dumps(bad))
        elif i % 5 == 0:
            r = request(f"x{i}", f"t{i}")
            lines.append(orjson.dumps({"custom_id": r["custom_id"], "method": "POST",
                                       "url": "/v1/messages", "body": r["params"]}))
        else:
            lines.append(json.dumps(request(f"x{i}", f"t {i} é")).encode())  # with spaces
        if i % 9 == 0:
            lines.append(b"")
    path = tmp_path / "req.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    job, (batch_id,) = submit(run, path)
    clock.advance(3600)
    results = results_of(run, batch_id)
    assert {kind(r) for r in results.values()} >= {"succeeded", "expired",
                                                   "errored: invalid_request_error"}
    assert any(kind(r) in {f"errored: {t}" for t in RETRYABLE_ERRORS} for r in results.values())
    by_id = {json.loads(x)["custom_id"]: x for x in path.read_bytes().splitlines() if x.strip()}
    return {"emu": emu, "run": run, "id": batch_id, "job": job, "path": path,
            "results": results, "lines": by_id}


def retryable(results: dict[str, Any], rules: Rules = Rules()) -> list[str]:
    return [c for c, r in results.items() if rules.classify({"result": r})[0]]


def test_retries_retryable_errors_and_expired_from_the_original_lines(
    failed: dict[str, Any], state_dir: Path
) -> None:
    run, parent = failed["run"], failed["id"]
    want = sorted(c for c, r in failed["results"].items()
                  if kind(r) == "expired" or kind(r) in {f"errored: {t}" for t in RETRYABLE_ERRORS})
    assert want == sorted(retryable(failed["results"]))
    result = run("retry-failed", parent)
    assert result.exit_code == 0, result.stderr
    (child,) = result.stdout.split()
    assert child.startswith("msgbatch_") and child != parent
    assert "invalid_request_error" in result.stderr and "--all-errors" in result.stderr
    store = Store.open(state_dir)
    row = store.get_batch(child)
    assert row["parent_id"] == parent  # type: ignore[index]
    assert store.get_job(row["job_id"])["parent_batch_id"] == parent  # type: ignore[index]
    assert row["label"] == f"retry of {parent}"  # type: ignore[index]
    sent = Path(row["request_file"]).read_bytes().splitlines()  # type: ignore[index]
    order = list(failed["lines"])  # file order
    assert sent == [failed["lines"][c] for c in sorted(want, key=order.index)]  # byte for byte
    assert Path(row["request_file"]).parent == state_dir / "retries"  # type: ignore[index]
    remote = failed["emu"].client().messages.batches.retrieve(child)
    assert remote.request_counts.processing == len(want)


def test_a_second_run_answers_the_batch_the_first_made(failed: dict[str, Any]) -> None:
    run = failed["run"]
    first = run("retry-failed", failed["id"])
    second = run("retry-failed", failed["id"])
    assert second.exit_code == 0
    assert second.stdout == first.stdout and second.stdout.strip()
    assert "already resubmitted" in second.stderr
    with failed["emu"].client() as client:
        assert len(list(client.messages.batches.list(limit=100))) == 2  # parent + one retry


def test_all_errors_and_include_canceled_widen_the_selection(failed: dict[str, Any]) -> None:
    run, results = failed["run"], failed["results"]
    wide = run("retry-failed", failed["id"], "--all-errors", "--dry-run", "--json")
    assert wide.exit_code == 0, wide.stderr
    records = [json.loads(x) for x in wide.stdout.splitlines()]
    expected = [c for c in failed["lines"] if kind(results[c]) != "succeeded"]
    assert [r["custom_id"] for r in records] == expected  # file order
    assert {r["reason"] for r in records} >= {"errored: invalid_request_error", "expired"}
    assert all(r["parent_id"] == failed["id"] for r in records)


def test_include_canceled(tmp_path: Path, make_emulator: Any, clock: Any) -> None:
    emu = make_emulator(processing_seconds=100, cancel_seconds=1)
    run = cli_on(emu, clock)
    path = tmp_path / "req.jsonl"
    path.write_bytes(b"".join(orjson.dumps(request(f"c{i}", f"t{i}")) + b"\n" for i in range(20)))
    _, (batch_id,) = submit(run, path)
    clock.advance(50)
    emu.client().messages.batches.cancel(batch_id)
    clock.advance(10)
    results = results_of(run, batch_id)
    canceled = [c for c, r in results.items() if r["type"] == "canceled"]
    assert canceled and len(canceled) < 20
    plain = run("retry-failed", batch_id)
    assert plain.exit_code == 0 and plain.stdout == ""
    assert "nothing to retry" in plain.stderr and "--include-canceled" in plain.stderr
    wide = run("retry-failed", batch_id, "--include-canceled", "--dry-run")
    assert wide.exit_code == 0
    assert sorted(json.loads(x)["custom_id"] for x in wide.stdout.splitlines()) == sorted(canceled)


def test_an_edited_request_file_exits_7_and_sends_nothing(failed: dict[str, Any]) -> None:
    path: Path = failed["path"]
    before = path.read_bytes()
    path.write_bytes(before.replace(b"64", b"65", 1))  # one max_tokens, same size
    assert path.read_bytes() != before
    result = failed["run"]("retry-failed", failed["id"])
    assert result.exit_code == 7
    assert str(path) in result.stderr and "changed since it was submitted" in result.stderr
    assert result.stdout == ""
    with failed["emu"].client() as client:
        assert len(list(client.messages.batches.list(limit=100))) == 1


def test_a_missing_request_file_exits_7(failed: dict[str, Any]) -> None:
    failed["path"].unlink()
    result = failed["run"]("retry-failed", failed["id"])
    assert result.exit_code == 7 and "no longer exists" in result.stderr


def test_dry_run_shows_what_it_would_send(failed: dict[str, Any]) -> None:
    run, parent = failed["run"], failed["id"]
    want = retryable(failed["results"])
    piped = run("retry-failed", parent, "--dry-run")
    assert piped.exit_code == 0, piped.stderr
    order = list(failed["lines"])
    assert piped.stdout_bytes.splitlines() == [failed["lines"][c]
                                               for c in sorted(want, key=order.index)]
    assert "dry run: nothing was submitted" in piped.stderr and ANSI not in piped.stderr
    table = run("retry-failed", parent, "--dry-run", tty=True)
    assert table.exit_code == 0
    assert "CUSTOM_ID" in table.stdout and want[0] in table.stdout and ANSI in table.stdout
    with failed["emu"].client() as client:
        assert len(list(client.messages.batches.list(limit=100))) == 1  # nothing was sent


def test_output_file_and_dry_run_with_output(failed: dict[str, Any], tmp_path: Path) -> None:
    run, parent = failed["run"], failed["id"]
    only_file = tmp_path / "would.jsonl"
    dry = run("retry-failed", parent, "--dry-run", "-o", str(only_file))
    assert dry.exit_code == 0 and dry.stdout == ""
    assert "nothing was submitted" in dry.stderr
    assert len(only_file.read_bytes().splitlines()) == len(retryable(failed["results"]))
    out = tmp_path / "retry.jsonl"
    real = run("retry-failed", parent, "-o", str(out), "--json")
    assert real.exit_code == 0, real.stderr
    (record,) = [json.loads(x) for x in real.stdout.splitlines()]
    assert record["parent_id"] == parent and record["request_file"] == str(out)
    assert out.read_bytes() == only_file.read_bytes()


def test_nothing_to_retry_exits_0_with_a_message(tmp_path: Path, cli: Any, clock: Any) -> None:
    path = tmp_path / "req.jsonl"
    path.write_bytes(orjson.dumps(request("ok", "fine")) + b"\n")
    _, (batch_id,) = submit(cli, path)
    clock.advance(3600)
    for tty in (False, True):
        result = cli("retry-failed", batch_id, tty=tty)
        assert result.exit_code == 0
        assert result.stdout == "" and f"nothing to retry in {batch_id}" in result.stderr


def test_refusals(tmp_path: Path, emulator: Any, cli: Any, clock: Any) -> None:
    path = tmp_path / "req.jsonl"
    path.write_bytes(orjson.dumps(request("ok", "fine")) + b"\n")
    _, (batch_id,) = submit(cli, path)
    running = cli("retry-failed", batch_id)
    assert running.exit_code == 8 and "in_progress" in running.stderr
    with emulator.client() as client:
        reqs: Any = [request("a", "b")]
        untracked = client.messages.batches.create(requests=reqs).id
    clock.advance(3600)
    unknown = cli("retry-failed", untracked)
    assert unknown.exit_code == 5 and "no tracked batch" in unknown.stderr
    assert cli("retry-failed", "job_000000000000").exit_code == 5


def test_a_job_with_failures_in_two_parts(tmp_path: Path, make_emulator: Any,
                                          clock: Any) -> None:
    emu = make_emulator(error_rate=0.4, seed=5)
    run = cli_on(emu, clock)
    path = tmp_path / "req.jsonl"
    path.write_bytes(b"".join(orjson.dumps(request(f"j{i}", f"t{i}")) + b"\n" for i in range(12)))
    job, parts = submit(run, path, "--max-requests", "6")
    clock.advance(3600)
    failing = [b for b in parts if retryable(results_of(run, b))]
    assert len(failing) == 2
    one_file = run("retry-failed", job, "-o", str(tmp_path / "one.jsonl"))
    assert one_file.exit_code == 2 and "-o names one file" in one_file.stderr
    assert not (tmp_path / "one.jsonl").exists()
    result = run("retry-failed", job)
    assert result.exit_code == 0, result.stderr
    children = result.stdout.split()
    assert len(children) == 2
    store = Store.open(Path(tmp_path / "state"))
    assert [store.get_batch(c)["parent_id"] for c in children] == parts  # type: ignore[index]


def test_a_file_submitted_on_another_host_is_named_and_a_copy_can_stand_in(
    failed: dict[str, Any], state_dir: Path, tmp_path: Path
) -> None:
    # A shared store used from two machines: the batch was submitted on "ci-runner-7", whose
    # path does not exist here.
    store = Store.open(state_dir)
    with store.transaction() as tx:
        tx.execute("UPDATE batches SET source_host = 'ci-runner-7', request_file = ?",
                   ("/home/runner/work/req.jsonl",))
    store.close()
    run, parent = failed["run"], failed["id"]
    result = run("retry-failed", parent)
    assert result.exit_code == 7
    assert result.stdout == ""
    assert ("/home/runner/work/req.jsonl, no longer exists on this host" in result.stderr
            and "submitted from ci-runner-7" in result.stderr)
    assert "--request-file" in result.stderr

    altered = tmp_path / "altered.jsonl"
    altered.write_bytes(failed["path"].read_bytes().replace(b"64", b"65", 1))
    refused = run("retry-failed", parent, "--request-file", str(altered))
    assert refused.exit_code == 7 and "sha256 differs" in refused.stderr

    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(failed["path"].read_bytes())
    failed["path"].unlink()
    done = run("retry-failed", parent, "--request-file", str(copy))
    assert done.exit_code == 0, done.stderr
    (child,) = done.stdout.split()
    with failed["emu"].client() as client:
        assert len(list(client.messages.batches.list(limit=100))) == 2  # parent + the retry
    assert Store.open(state_dir).get_batch(child)["parent_id"] == parent  # type: ignore[index]
