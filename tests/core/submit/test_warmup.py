"""The warm-up of `--cache auto` (issue 20 item 3) through the emulator: each planned group's
first request goes first, as a batch of its own; the rest is sent once it has ended (or once
--warmup-timeout has passed), never a request twice; status and wait show the warm-up as a
part of the job; its results are the job's, in their place."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.times import parse_ts
from tests.support.caching import SONNET, ask
from tests.support.files import write_jsonl
from tests.support.runs import cli_on

ROOT = Path(__file__).resolve().parents[3]
SHARED_DOC = ROOT / "samples" / "shared_doc.jsonl"
OTHER = "claude-sonnet-5"  # another model: another cache group (minimum 1,024 tokens too)
#: Two groups, interleaved: A on lines 1, 3, 4, 7; B on lines 2, 5, 6, 8.
MODELS = [SONNET, OTHER, SONNET, SONNET, OTHER, OTHER, SONNET, OTHER]


def two_groups(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "two.jsonl", [
        {"custom_id": f"q{n}", "params": ask(f"Question {n}: who spoke?", model=model)}
        for n, model in enumerate(MODELS, 1)])


def ids(emu: Any, batch: dict[str, Any]) -> list[str]:
    return [r["custom_id"] for r in emu.received(batch["id"])]


def created(emu: Any) -> list[dict[str, Any]]:
    """The emulator's batches, oldest first (those made at once: by their first request)."""
    return sorted(emu.batches(), key=lambda b: (parse_ts(b["created_at"]),
                                                int(ids(emu, b)[0].strip("q"))))


@pytest.fixture
def emu(make_emulator: Any) -> Any:
    return make_emulator(record_requests=True)


def test_run_sends_the_groups_first_requests_first_then_the_rest_once_it_ended(
    emu: Any, clock: Any, tmp_path: Path, store_value: str
) -> None:
    run = cli_on(emu, clock)
    env = {"BATCHCTL_STORE": store_value}
    path, out = two_groups(tmp_path), tmp_path / "out.csv"
    done = run("run", "--cache", "auto", "--max-requests", "3", "-o", str(out), "--order",
               "input", str(path), env=env)
    assert done.exit_code == 0, done.stderr
    warm, *rest = created(emu)
    assert ids(emu, warm) == ["q1", "q2"]  # each group's first request, and nothing else
    assert all(r["params"]["max_tokens"] == 100 for r in emu.received(warm["id"]))  # as written
    assert [ids(emu, b) for b in rest] == [["q3"], ["q4", "q5", "q6"], ["q7", "q8"]]
    for batch in rest:  # sent once the warm-up had ended
        assert parse_ts(batch["created_at"]) >= parse_ts(warm["ended_at"])
    sent = [i for b in (warm, *rest) for i in ids(emu, b)]
    assert sorted(sent) == sorted(f"q{n}" for n in range(1, 9))  # never a request twice
    # The warm-up's results are the job's, in their place.
    assert [line.split(",")[0] for line in out.read_text().splitlines()[1:]] == [
        f"q{n}" for n in range(1, 9)]
    # The markers of the plan are in the warm-up's bodies as in the rest's.
    for batch in (warm, *rest):
        for r in emu.received(batch["id"]):
            assert r["params"]["messages"][0]["content"][0]["cache_control"] == {
                "type": "ephemeral", "ttl": "1h"}


def test_submit_records_the_rest_as_pending_and_says_what_sends_it(
    emu: Any, clock: Any, tmp_path: Path, store_value: str
) -> None:
    run = cli_on(emu, clock)
    env = {"BATCHCTL_STORE": store_value}
    sent = run("submit", "--json", "--cache", "auto", str(two_groups(tmp_path)), env=env)
    assert sent.exit_code == 0, sent.stderr
    warm, rest = [json.loads(x) for x in sent.stdout.splitlines()]
    assert (warm["role"], warm["request_count"], warm["pending"]) == ("warm-up", 2, False)
    assert (rest["role"], rest["request_count"], rest["held"]) == (None, 6, "warmup")
    job = warm["job_id"]
    assert "once the warm-up batch has ended" in sent.stderr
    assert f"wait {job}" in sent.stderr
    assert len(emu.batches()) == 1
    status = run("status", "--json", job, env=env)
    assert [(r["role"], r["processing_status"]) for r in map(
        json.loads, status.stdout.splitlines())] == [("warm-up", "in_progress"), (None, "pending")]
    waited = run("wait", job, env=env)
    assert waited.exit_code == 0, waited.stderr
    assert f"{warm['id']} (warm-up): ended: 2 succeeded" in waited.stderr
    first, second = created(emu)
    assert parse_ts(second["created_at"]) >= parse_ts(first["ended_at"])
    assert sorted(ids(emu, first) + ids(emu, second)) == sorted(f"q{n}" for n in range(1, 9))
    final = run("status", "--json", job, env=env)
    assert [json.loads(x)["role"] for x in final.stdout.splitlines()] == ["warm-up", None]


def test_the_rest_goes_without_the_warm_up_once_its_timeout_has_passed(
    make_emulator: Any, clock: Any, tmp_path: Path
) -> None:
    emu = make_emulator(record_requests=True, processing_seconds=3600)
    run = cli_on(emu, clock)
    sent = run("submit", "--json", "--cache", "auto", "--warmup-timeout", "600",
               str(two_groups(tmp_path)))
    assert sent.exit_code == 0, sent.stderr
    job = json.loads(sent.stdout.splitlines()[0])["job_id"]
    waited = run("wait", job)
    assert waited.exit_code == 0, waited.stderr
    assert "has not ended within --warmup-timeout 10m: sending the rest" in waited.stderr
    warm, rest = created(emu)
    gap = parse_ts(rest["created_at"]) - parse_ts(warm["created_at"])
    assert 600 <= gap < 3600  # at the timeout, before the warm-up ended
    assert ids(emu, warm) == ["q1", "q2"] and len(ids(emu, rest)) == 6


def test_no_warmup_sends_the_job_at_once(emu: Any, clock: Any, tmp_path: Path) -> None:
    run = cli_on(emu, clock)
    sent = run("submit", "--json", "--cache", "auto", "--no-warmup", str(two_groups(tmp_path)))
    assert sent.exit_code == 0, sent.stderr
    (record,) = [json.loads(x) for x in sent.stdout.splitlines()]
    assert (record["role"], record["request_count"]) == (None, 8)
    (batch,) = emu.batches()
    assert ids(emu, batch) == [f"q{n}" for n in range(1, 9)]


def test_a_warm_up_is_another_job_than_none(emu: Any, clock: Any, tmp_path: Path) -> None:
    run = cli_on(emu, clock)
    path = two_groups(tmp_path)
    warm = run("submit", "--json", "--cache", "auto", str(path))
    cold = run("submit", "--json", "--cache", "auto", "--no-warmup", str(path))
    again = run("submit", "--json", "--cache", "auto", str(path))
    job = lambda r: json.loads(r.stdout.splitlines()[0])["job_id"]  # noqa: E731
    assert job(warm) != job(cold) and job(again) == job(warm)
    assert len(emu.batches()) == 2  # the warm-up, and the job sent whole: nothing again


def test_after_a_warm_up_nine_in_ten_read_the_prefix(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    run = cli_on(emu, clock)
    done = run("run", "--cache", "auto", "-o", str(tmp_path / "out.jsonl"), str(SHARED_DOC))
    assert done.exit_code == 0, done.stderr
    warm, rest = created(emu)
    assert len(ids(emu, warm)) == 1 and len(ids(emu, rest)) == 199
    job = re.search(r"as job (job_[0-9a-f]+)", done.stderr)
    assert job is not None, done.stderr
    summary = tmp_path / "summary.json"
    again = run("results", job.group(1), "-o", str(tmp_path / "again.jsonl"), "--summary-json",
                str(summary))
    assert again.exit_code == 0, again.stderr
    figures = json.loads(summary.read_text())
    assert figures["cache_hit_rate"] >= 0.9 and figures["saved_usd"] > 0


def test_the_summary_names_the_planned_groups_and_counts_the_markers_placed(
    make_emulator: Any, clock: Any, tmp_path: Path
) -> None:
    emu = make_emulator(record_requests=True, cache_hit_rate=0.0)  # every request writes
    run = cli_on(emu, clock)
    summary = tmp_path / "summary.json"
    sent = run("submit", "--json", "--cache", "auto", "--no-warmup", str(two_groups(tmp_path)))
    assert sent.exit_code == 0, sent.stderr
    job = json.loads(sent.stdout)["job_id"]
    assert run("wait", job).exit_code == 0
    got = run("results", job, "-o", str(tmp_path / "out.jsonl"), "--summary-json", str(summary))
    assert got.exit_code == 0, got.stderr
    figures = json.loads(summary.read_text())
    assert figures["cache_marked_requests"] == 8  # the file has none: the plan's markers count
    assert [(g["group"], g["model"], g["first_line"], g["first_custom_id"], g["requests"])
            for g in figures["cache_groups"]] == [(1, SONNET, 1, "q1", 4), (2, OTHER, 2, "q2", 4)]
    assert "cache group 1: 4 requests of" in got.stderr


def test_the_resume_hint_names_the_options_that_make_the_job(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    run = cli_on(emu, clock)
    path, out = two_groups(tmp_path), tmp_path / "out.jsonl"
    stopped = run("run", "--cache", "auto", "--no-warmup", str(path), "-o", str(out),
                  "--timeout", "20")
    assert stopped.exit_code == 8, stopped.stderr
    assert "run the same command again, with --cache auto --no-warmup (another job without " \
           "them): it picks up job" in stopped.stderr
    again = run("run", "--cache", "auto", "--no-warmup", str(path), "-o", str(out))
    assert again.exit_code == 0, again.stderr
    assert len(emu.batches()) == 1


def test_run_writes_the_summary_json_as_results_does(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    run = cli_on(emu, clock)
    summary = tmp_path / "summary.json"
    done = run("run", "--cache", "auto", str(two_groups(tmp_path)), "-o",
               str(tmp_path / "out.jsonl"), "--summary-json", str(summary))
    assert done.exit_code == 0, done.stderr
    figures = json.loads(summary.read_text())
    assert figures["counts"]["succeeded"] == 8 and figures["cache_hit_rate"] is not None
    refused = run("run", str(two_groups(tmp_path)), "--summary-json",
                  str(tmp_path / "no" / "s.json"))
    assert refused.exit_code == 2 and "--summary-json" in refused.stderr
    assert len(emu.batches()) == 2  # the warm-up and the rest; nothing for the refused run


def test_status_and_wait_label_the_warm_up_on_a_terminal(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    run = cli_on(emu, clock)
    sent = run("submit", "--json", "--cache", "auto", str(two_groups(tmp_path)))
    job = json.loads(sent.stdout.splitlines()[0])["job_id"]
    table = run("status", "--wide", job, tty=True)
    assert table.exit_code == 0, table.stderr
    warm = json.loads(sent.stdout.splitlines()[0])["id"]
    assert f"{warm} (warm-up)" in table.stdout
    waited = run("wait", job, tty=True)
    assert waited.exit_code == 0, waited.stderr
    assert "(warm-up) ended: 2 succeeded" in waited.stderr


def test_collect_sends_the_rest_once_the_warm_up_has_ended(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    run = cli_on(emu, clock)
    sent = run("submit", "--json", "--cache", "auto", str(two_groups(tmp_path)))
    assert sent.exit_code == 0, sent.stderr
    early = run("collect", "-d", str(tmp_path / "results"))
    assert len(emu.batches()) == 1, early.stderr  # the warm-up has not ended: nothing more
    clock.advance(61)  # the emulator's batches end 60 s after they are made
    later = run("collect", "-d", str(tmp_path / "results"))
    assert later.exit_code == 0, later.stderr
    warm, rest = created(emu)
    assert ids(emu, rest) == ["q3", "q4", "q5", "q6", "q7", "q8"]
    assert parse_ts(rest["created_at"]) >= parse_ts(warm["ended_at"])


def test_a_group_the_user_marked_already_is_warmed_and_sent_whole(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    """The plan adds no marker where the user's is (no line re-encoded): the parts are still
    a warm-up and the rest without it, each sending only its own lines (review of 2026-12-07:
    the rest's body copied the whole range and every send stopped at exit 7)."""
    requests = []
    for n, model in enumerate(MODELS, 1):
        params = ask(f"Question {n}: who spoke?", model=model)
        params["messages"][0]["content"][0]["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
        requests.append({"custom_id": f"q{n}", "params": params})
    path, out = write_jsonl(tmp_path / "marked.jsonl", requests), tmp_path / "out.csv"
    done = cli_on(emu, clock)("run", "--cache", "auto", "-o", str(out), str(path))
    assert done.exit_code == 0, done.stderr
    warm, *rest = created(emu)
    assert ids(emu, warm) == ["q1", "q2"]
    assert sorted(i for b in rest for i in ids(emu, b)) == sorted(f"q{n}" for n in range(3, 9))
    assert [row.split(",")[0] for row in out.read_text().splitlines()[1:]] == [
        f"q{n}" for n in range(1, 9)]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_input_order_is_the_files_order_when_the_warm_up_holds_later_lines(
    emu: Any, clock: Any, tmp_path: Path, fmt: str
) -> None:
    """Group B's first request is line 4: the warm-up (q1, q4) is read first, yet the rows
    come in the file's order (review of 2026-12-07: the order was q1, q4, q2, ...)."""
    models = [SONNET, SONNET, SONNET, OTHER, OTHER, SONNET]
    path = write_jsonl(tmp_path / "late.jsonl", [
        {"custom_id": f"q{n}", "params": ask(f"Question {n}: who spoke?", model=model)}
        for n, model in enumerate(models, 1)])
    out = tmp_path / f"out.{fmt}"
    done = cli_on(emu, clock)("run", "--cache", "auto", "--order", "input", "-o", str(out),
                              str(path))
    assert done.exit_code == 0, done.stderr
    assert ids(emu, created(emu)[0]) == ["q1", "q4"]
    lines = out.read_text().splitlines()
    got = ([line.split(",")[0] for line in lines[1:]] if fmt == "csv"
           else [json.loads(line)["custom_id"] for line in lines])
    assert got == [f"q{n}" for n in range(1, 7)]


def test_waiting_on_the_warm_up_by_its_id_names_the_job_left_behind(
    emu: Any, clock: Any, tmp_path: Path
) -> None:
    """A piped submit prints the warm-up's id; a script that waits on it is told that the
    job's rest is not sent, and what sends it (stderr; stdout stays empty)."""
    run = cli_on(emu, clock)
    sent = run("submit", "--cache", "auto", str(two_groups(tmp_path)))
    assert sent.exit_code == 0, sent.stderr
    (warm,) = sent.stdout.split()
    job = json.loads(run("status", "--json", warm).stdout)["job_id"]
    by_id = run("wait", warm)
    assert by_id.exit_code == 0 and by_id.stdout == ""
    assert (f"warning: {warm} is a part of job {job}, which has 1 part not sent yet "
            f"(6 requests): `wait {job}` sends them") in by_id.stderr
    assert len(emu.batches()) == 1  # named, not sent: waiting on a batch sends nothing
    by_job = run("wait", job)
    assert by_job.exit_code == 0 and "not sent yet" not in by_job.stderr
    assert len(emu.batches()) == 2
