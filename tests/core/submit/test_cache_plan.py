"""`submit --cache auto` and `run --cache auto` through the emulator: the markers go in the bodies
sent (what the emulator received), exactly where the plan says, never in the file; the plan is
recorded with the job, so a re-submit, a resumed job and retry-failed send the same bodies and
are answered once; another --cache is another job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.caching import DOC, EPH, HAIKU, SONNET, SYSTEM, ask, text
from tests.support.files import write_jsonl
from tests.support.runs import cli_on, on, submit

ROOT = Path(__file__).resolve().parents[3]
SHARED_DOC = ROOT / "samples" / "shared_doc.jsonl"
MARKER = {"type": "ephemeral", "ttl": "1h"}


def lines(count: int, **params: Any) -> list[dict[str, Any]]:
    return [{"custom_id": f"q{i}", "params": ask(f"Question {i}: who spoke?", **params)}
            for i in range(count)]


def sonnet(custom_id: str, system: Any, content: Any) -> dict[str, Any]:
    """A Sonnet request line: ``system``, then one user message of ``content``."""
    return {"custom_id": custom_id, "params": {
        "model": SONNET, "max_tokens": 50, "system": system,
        "messages": [{"role": "user", "content": content}]}}


def markers(params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Where each cache_control of a request is, as the API names the field, and the marker."""
    found = []
    for i, tool in enumerate(params.get("tools") or ()):
        if "cache_control" in tool:
            found.append((f"tools.{i}", tool["cache_control"]))
    system = params.get("system")
    for i, block in enumerate(system if isinstance(system, list) else ()):
        if "cache_control" in block:
            found.append((f"system.{i}", block["cache_control"]))
    for m, message in enumerate(params["messages"]):
        content = message["content"]
        for b, block in enumerate(content if isinstance(content, list) else ()):
            if "cache_control" in block:
                found.append((f"messages.{m}.content.{b}", block["cache_control"]))
    return found


@pytest.fixture
def emu(make_emulator: Any) -> Any:
    return make_emulator(record_requests=True)


def plan_of(run: Any, path: Path, *extra: str) -> dict[str, Any]:
    result = run("submit", "--dry-run", "--json", *extra, str(path))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["cache"]


def test_auto_marks_each_request_where_the_dry_run_planned_and_leaves_the_file(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    run = cli_on(emu, clock)
    path = tmp_path / "doc.jsonl"
    path.write_bytes(SHARED_DOC.read_bytes())
    before = path.read_bytes()
    (group,) = plan_of(run, path, "--cache", "auto")["groups"]
    assert (group["at"], group["planned"], group["requests"]) == ("system.0", True, 200)
    _, (batch_id,) = submit(run, path, "--cache", "auto", "--no-warmup")
    sent = emu.received(batch_id)
    assert len(sent) == 200
    assert {tuple(map(str, markers(r["params"]))) for r in sent} == {
        (str(("system.0", MARKER)),)}
    assert path.read_bytes() == before  # the user's file is never changed
    # Apart from the marker, each request is the file's, value for value.
    written = {json.loads(x)["custom_id"]: json.loads(x) for x in before.splitlines()}
    for r in sent:
        del r["params"]["system"][0]["cache_control"]
        assert r == written[r["custom_id"]]


def test_off_sends_the_lines_as_written(emu: Any, clock: Any, tmp_path: Path) -> None:
    run = cli_on(emu, clock)
    path = write_jsonl(tmp_path / "q.jsonl", lines(4))
    _, (batch_id,) = submit(run, path)
    assert [markers(r["params"]) for r in emu.received(batch_id)] == [[]] * 4


def test_the_emulator_keeps_what_it_received_only_when_asked(
    emulator: Any, clock: Any, tmp_path: Path
) -> None:
    submit(cli_on(emulator, clock), write_jsonl(tmp_path / "q.jsonl", lines(2)))
    assert not (emulator.data_dir / "received").exists()


def test_a_string_block_becomes_a_text_block_to_carry_the_marker(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    run = cli_on(emu, clock)
    requests = [sonnet(f"s{i}", DOC, f"question {i}") for i in range(3)]
    path = write_jsonl(tmp_path / "s.jsonl", requests)
    _, (batch_id,) = submit(run, path, "--cache", "auto", "--no-warmup")
    for r in emu.received(batch_id):
        assert r["params"]["system"] == [{"type": "text", "text": DOC, "cache_control": MARKER}]


def test_a_user_with_four_markers_keeps_them_and_gets_none_more(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    run = cli_on(emu, clock)

    def four(tail: str) -> dict[str, Any]:  # the shared prefix ends on "first", unmarked
        return {"model": SONNET, "max_tokens": 50, "system": [text(SYSTEM, EPH), text(DOC, EPH)],
                "messages": [{"role": "user", "content": [
                    text("first"), text(tail, EPH), text("last", EPH)]}]}

    requests = [{"custom_id": "a", "params": four("second")},
                {"custom_id": "b", "params": four("third")},
                {"custom_id": "c", "params": ask("plain question one")},
                {"custom_id": "d", "params": ask("plain question two")}]
    path = write_jsonl(tmp_path / "m.jsonl", requests)
    groups = {g["first"]: g for g in plan_of(run, path, "--cache", "auto")["groups"]}
    assert (groups[1]["at"], groups[1]["skipped_requests"]) == (
        "messages.0.content.0", {"four_markers": 2})
    assert (groups[3]["at"], groups[3]["marked_requests"]) == ("messages.0.content.0", 2)
    _, (batch_id,) = submit(run, path, "--cache", "auto", "--no-warmup")
    sent = {r["custom_id"]: r["params"] for r in emu.received(batch_id)}
    assert sent["a"] == four("second")  # as written: 4 markers, none added
    assert sent["b"] == four("third")
    assert markers(sent["c"]) == [("messages.0.content.0", MARKER)]
    assert all(len(markers(p)) <= 4 for p in sent.values())


def test_a_1h_marker_never_follows_a_users_5m_one(emu: Any, clock: Any, tmp_path: Path) -> None:
    run = cli_on(emu, clock)
    requests = [sonnet(f"f{i}", [text(SYSTEM, EPH)], [text(DOC), text(f"q{i}")])
                for i in range(3)]
    path = write_jsonl(tmp_path / "f.jsonl", requests)
    _, (batch_id,) = submit(run, path, "--cache", "auto", "--no-warmup")
    for r in emu.received(batch_id):
        assert markers(r["params"]) == [("system.0", EPH)]


def test_under_the_minimum_nothing_is_placed(emu: Any, clock: Any, tmp_path: Path) -> None:
    run = cli_on(emu, clock)
    short = "A short shared preamble. " * 40  # ~250 tokens: under Haiku 4.5's 4,096
    path = write_jsonl(tmp_path / "h.jsonl", lines(3, model=HAIKU, doc=short))
    (group,) = plan_of(run, path, "--cache", "auto")["groups"]
    assert (group["planned"], group["reason"]) == (False, "under_minimum")
    _, (batch_id,) = submit(run, path, "--cache", "auto", "--no-warmup")
    assert [markers(r["params"]) for r in emu.received(batch_id)] == [[]] * 3


def test_a_minimums_file_moves_the_minimum(emu: Any, clock: Any, tmp_path: Path) -> None:
    run = cli_on(emu, clock)
    short = "A short shared preamble. " * 40
    path = write_jsonl(tmp_path / "h.jsonl", lines(3, model=HAIKU, doc=short))
    table = tmp_path / "minimums.json"
    table.write_text(json.dumps({"models": {HAIKU: {"min_cacheable_tokens": 100}}}))
    (group,) = plan_of(run, path, "--cache", "auto", "--cache-minimums", str(table))["groups"]
    assert (group["planned"], group["min_cacheable_tokens"], group["minimum_source"]) == (
        True, 100, "file")


def test_resubmit_answers_the_same_job_and_another_cache_is_another_job(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    run = cli_on(emu, clock)
    path = write_jsonl(tmp_path / "q.jsonl", lines(5))
    job, ids = submit(run, path, "--cache", "auto")
    again, same = submit(run, path, "--cache", "auto")
    assert (again, same) == (job, ids)
    off_job, off_ids = submit(run, path)
    assert off_job != job and off_ids != ids
    assert submit(run, path, "--cache", "off") == (off_job, off_ids)
    assert len(emu.batches()) == 2


def test_a_job_whose_parts_wait_sends_them_later_with_the_same_markers(
    make_emulator: Any, clock: Any, tmp_path: Path
) -> None:
    emu = make_emulator(record_requests=True, queue_limit=3)
    run = cli_on(emu, clock)
    path = write_jsonl(tmp_path / "q.jsonl", lines(6))
    result = run("submit", "--json", "--cache", "auto", "--no-warmup", "--max-requests", "3",
                 str(path))
    assert result.exit_code == 0, result.stderr
    records = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["pending"] for r in records] == [False, True]
    clock.advance(3600)
    waited = run("wait", records[0]["job_id"])  # sends the part left, from the recorded plan
    assert waited.exit_code == 0, waited.stderr
    batches = [b["id"] for b in emu.batches()]
    assert len(batches) == 2
    for batch_id in batches:
        for r in emu.received(batch_id):
            assert markers(r["params"]) == [("messages.0.content.0", MARKER)]


def test_retry_failed_resends_the_bodies_first_sent(
    make_emulator: Any, clock: Any, tmp_path: Path
) -> None:
    emu = make_emulator(record_requests=True, error_rate=0.5, seed=3)
    run = cli_on(emu, clock)
    requests = lines(8)
    requests[0]["params"]["messages"][0]["content"][1]["cache_control"] = EPH  # the user's own
    path = write_jsonl(tmp_path / "q.jsonl", requests)
    _, (parent,) = submit(run, path, "--cache", "auto", "--no-warmup")
    first = {r["custom_id"]: r for r in emu.received(parent)}
    clock.advance(3600)
    retried = run("retry-failed", "--json", parent)
    assert retried.exit_code == 0, retried.stderr
    (record,) = [json.loads(x) for x in retried.stdout.splitlines()]
    again = emu.received(record["id"])
    assert again and all(r == first[r["custom_id"]] for r in again)
    assert all(markers(r["params"])[0] == ("messages.0.content.0", MARKER) for r in again)
    (repeat,) = [json.loads(x) for x in run("retry-failed", "--json", parent).stdout.splitlines()]
    assert (repeat["id"], repeat["existing"]) == (record["id"], True)  # answered once
    assert len(emu.batches()) == 2


def test_the_plan_is_recorded_with_the_job_on_each_backend(
    emu: Any, store_value: str, tmp_path: Path, state_dir: Path
) -> None:
    from batchctl.core.caching.place import CachePlan
    from batchctl.core.location import parse_store
    from batchctl.core.state.store import Store

    path = write_jsonl(tmp_path / "q.jsonl", lines(4))
    env = {"BATCHCTL_STORE": store_value}
    auto = ("submit", "--json", "--cache", "auto", "--no-warmup", str(path))
    first = on(emu, None, *auto, env=env)
    assert first.exit_code == 0, first.stderr
    again = on(emu, None, *auto, env=env)
    assert [json.loads(x)["id"] for x in again.stdout.splitlines()] == [
        json.loads(x)["id"] for x in first.stdout.splitlines()]
    off = on(emu, None, "submit", "--json", str(path), env=env)
    assert json.loads(off.stdout)["id"] != json.loads(first.stdout)["id"]
    shown = on(emu, None, "submit", "--dry-run", "--json", "--cache", "auto", str(path), env=env)
    digest = json.loads(shown.stdout)["cache"]["plan_digest"]
    job_id = json.loads(first.stdout)["job_id"]
    store = Store.open(state_dir, location=parse_store(store_value))  # the store the CLI used
    try:
        job = store.get_job(job_id)
    finally:
        store.close()
    assert job is not None and job["cache_digest"] == digest
    assert CachePlan.from_record(json.loads(job["cache_plan"])).digest() == digest
    (batch,) = [b for b in emu.batches() if b["id"] == json.loads(first.stdout)["id"]]
    assert all(markers(r["params"]) for r in emu.received(batch["id"]))


def test_a_marker_never_goes_on_a_blank_block_but_on_the_one_before(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    run = cli_on(emu, clock)
    requests = [sonnet(f"b{i}", SYSTEM, [text(DOC), text(" "), text(f"q{i}")]) for i in range(3)]
    path = write_jsonl(tmp_path / "b.jsonl", requests)
    (group,) = plan_of(run, path, "--cache", "auto")["groups"]
    assert (group["shared_positions"], group["at"]) == (4, "messages.0.content.0")
    _, (batch_id,) = submit(run, path, "--cache", "auto", "--no-warmup")
    for r in emu.received(batch_id):
        assert markers(r["params"]) == [("messages.0.content.0", MARKER)]


def test_a_minimums_file_also_moves_the_warning_on_a_users_marker(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    run = cli_on(emu, clock)
    short = "A short shared preamble. " * 40  # ~250 tokens
    requests = lines(2, model=HAIKU, doc=short)
    requests[0]["params"]["messages"][0]["content"][0]["cache_control"] = EPH
    path = write_jsonl(tmp_path / "w.jsonl", requests)
    warned = run("submit", "--dry-run", str(path))
    assert "minimum cacheable length of 4,096 tokens" in warned.stderr
    table = tmp_path / "minimums.json"
    table.write_text(json.dumps({"models": {HAIKU: {"min_cacheable_tokens": 100}}}))
    quiet = run("submit", "--dry-run", "--cache-minimums", str(table), str(path))
    assert quiet.exit_code == 0, quiet.stderr
    assert "minimum cacheable length" not in quiet.stderr


def test_a_resumed_run_picks_up_the_job_it_planned(emu: Any, clock: Any, tmp_path: Path) -> None:
    run = cli_on(emu, clock)
    path = write_jsonl(tmp_path / "q.jsonl", lines(3))
    out = tmp_path / "answers.jsonl"
    first = run("run", "--cache", "auto", "--no-warmup", str(path), "-o", str(out),
                "--timeout", "20")
    assert first.exit_code == 8, first.stderr
    second = run("run", "--cache", "auto", "--no-warmup", str(path), "-o", str(out))
    assert second.exit_code == 0, second.stderr
    assert "already submitted" in second.stderr
    (batch,) = emu.batches()
    assert [markers(r["params"]) for r in emu.received(batch["id"])] == [
        [("messages.0.content.0", MARKER)]] * 3
    usage = [json.loads(x)["result"]["message"]["usage"] for x in out.read_bytes().splitlines()]
    assert sum(u["cache_creation_input_tokens"] + u["cache_read_input_tokens"] > 0
               for u in usage) == 3  # the emulator cached at the markers placed
