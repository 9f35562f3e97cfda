"""`batchctl wait` and the polling loop under it, driven by the fake clock the emulator shares:
a wait of minutes of batch time takes milliseconds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from batchctl.core.errors import UnavailableError
from batchctl.core.events import BatchChanged, Polled, PollFailed, gather
from batchctl.core.state.store import Store
from batchctl.core.tracking.lifecycle import resolve_targets
from batchctl.core.workflows.waiting import (
    FIRST_INTERVAL,
    MAX_INTERVAL,
    SLEEP_SLICE,
    Backoff,
    WaitOptions,
    sleep_until,
    wait_for,
)
from tests.support.clock import FakeClock
from tests.support.files import json_lines, write_requests
from tests.support.runs import api_on, assert_plain, cli_on, on, sdk_batch, submit


def test_piped_one_line_per_change_then_summary_and_results_command(cli, tmp_path, clock):
    job, ids = submit(cli, write_requests(tmp_path / "a.jsonl", 5), "--max-requests", "3")
    start = clock.time()
    result = cli("wait", job)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert_plain(result.stderr)
    lines = result.stderr.splitlines()
    # Each batch: one line when first seen, one when it ended. No redraws, no repeats.
    for batch in ids:
        mine = [line for line in lines if batch in line]
        assert len(mine) == 2, lines
        assert "in_progress" in mine[0] and "expires in" in mine[0]
        assert "ended: 3 succeeded" in mine[1] or "ended: 2 succeeded" in mine[1]
    assert "2 of 2 batches ended after 1m" in result.stderr
    fetch = rf"^fetch the results: batchctl --base-url \S+ --state-dir \S+ results {job}$"
    assert re.search(fetch, result.stderr, re.M)
    assert len(lines) == 2 * len(ids) + 2
    assert 60 <= clock.time() - start <= 60 + MAX_INTERVAL  # the emulator's 60 s, in fake time
    assert max(clock.sleeps) <= SLEEP_SLICE


def test_json_writes_the_final_records(cli, tmp_path):
    job, (batch,) = submit(cli, write_requests(tmp_path / "a.jsonl", 2))
    result = cli("wait", batch, "--json")
    assert result.exit_code == 0, result.stderr
    (record,) = json_lines(result.stdout)
    assert record["id"] == batch and record["processing_status"] == "ended"
    assert record["request_counts"]["succeeded"] == 2
    assert record["results_url"].endswith(f"/v1/messages/batches/{batch}/results")
    assert record["job_id"] == job


def test_terminal_shows_progress_bars_on_stderr_only(cli, tmp_path):
    job, ids = submit(cli, write_requests(tmp_path / "a.jsonl", 4), "--max-requests", "2")
    result = cli("wait", job, tty=True, width=160)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "\x1b[" in result.stderr  # a live display
    assert "━" in result.stderr  # bars
    assert "2 of 2 batches ended" in result.stderr
    assert f"{ids[0]} ended: 2 succeeded" in result.stderr
    assert "fetch the results" in result.stderr


def test_an_ended_batch_returns_at_once(cli, emulator, clock):
    batch = sdk_batch(emulator, 3)
    clock.advance(100)
    clock.sleeps.clear()
    result = cli("wait", batch)
    assert result.exit_code == 0
    assert clock.sleeps == []
    # One end line (the summary), on the batch's own clock: created -> ended took 60 s.
    assert result.stderr.splitlines()[0] == (
        "1 of 1 batch ended after 1m: 3 succeeded, 0 errored, 0 canceled, 0 expired")
    assert ": ended: " not in result.stderr


def test_timeout_is_exit_8_and_says_how_to_resume(cli, tmp_path, clock):
    job, _ = submit(cli, write_requests(tmp_path / "a.jsonl", 2))
    start = clock.time()
    result = cli("wait", job, "--timeout", "12", "--json")
    assert result.exit_code == 8
    assert 12 <= clock.time() - start < 13
    assert "0 of 1 batch ended after 12s" in result.stderr
    assert "gave up waiting after --timeout 12 s" in result.stderr
    assert re.search(rf"resume with: batchctl --base-url \S+ --state-dir \S+ wait {job}",
                     result.stderr)
    (record,) = json_lines(result.stdout)  # --json still reports where things stand
    assert record["processing_status"] == "in_progress"


def test_exit_status_9_on_failed_requests(make_emulator, tmp_path, clock):
    emu = make_emulator(processing_seconds=20, error_rate=0.5, seed=3)
    run = cli_on(emu, clock)
    job, _ = submit(run, write_requests(tmp_path / "a.jsonl", 8))
    plain = on(emu, clock, "wait", job)
    assert plain.exit_code == 0
    assert "errored" in plain.stderr and "retry-failed" in plain.stderr
    strict = on(emu, clock, "wait", job, "--exit-status")
    assert strict.exit_code == 9
    assert "ended with failed requests" in strict.stderr


def test_exit_status_0_when_every_request_succeeded(cli, tmp_path):
    job, _ = submit(cli, write_requests(tmp_path / "a.jsonl", 2))
    assert cli("wait", job, "--exit-status").exit_code == 0


@dataclass
class CtrlCAfter:
    """The shared fake clock, whose n-th sleep is interrupted by Ctrl-C."""

    inner: FakeClock
    sleeps: int
    count: int = field(default=0)

    def time(self) -> float:
        return self.inner.time()

    def sleep(self, seconds: float) -> None:
        self.count += 1
        if self.count >= self.sleeps:
            raise KeyboardInterrupt
        self.inner.sleep(seconds)


@pytest.mark.parametrize("tty", [False, True])
def test_ctrl_c_is_exit_130_and_says_how_to_resume(cli, tmp_path, clock, tty):
    job, _ = submit(cli, write_requests(tmp_path / "a.jsonl", 2))
    result = cli("wait", job, clock=CtrlCAfter(clock, 3), tty=tty)
    assert result.exit_code == 130
    assert result.stdout == ""
    assert "keep running on the server" in result.stderr
    assert f"wait {job}" in result.stderr and "resume with" in result.stderr


def test_heartbeat_every_few_minutes_off_a_terminal(make_emulator, tmp_path, clock):
    emu = make_emulator(processing_seconds=1300)
    run = cli_on(emu, clock)
    job, _ = submit(run, write_requests(tmp_path / "a.jsonl", 1))
    result = on(emu, clock, "wait", job)
    assert result.exit_code == 0
    assert_plain(result.stderr)
    beats = [line for line in result.stderr.splitlines() if "still waiting" in line]
    assert re.match(r"\[(5m|6m)", beats[0])  # at the first poll after 5 minutes
    assert 3 <= len(beats) <= 4  # about 1300 s / 300 s; never one per poll
    assert all("0 of 1 batch ended" in b for b in beats), result.stderr


def test_interval_is_used_as_given(cli, tmp_path, clock):
    job, _ = submit(cli, write_requests(tmp_path / "a.jsonl", 1))
    clock.sleeps.clear()
    assert cli("wait", job, "--interval", "2").exit_code == 0
    assert set(clock.sleeps) == {2.0}
    assert 30 <= len(clock.sleeps) <= 31  # 60 s of processing, a poll every 2 s


@pytest.mark.parametrize("args", [["--interval", "0"], ["--timeout", "-1"], []])
def test_bad_flags_are_exit_2(cli, args):
    result = cli("wait", *args, *([] if not args else ["msgbatch_x"]))
    assert result.exit_code == 2


def test_unknown_id_5_unknown_job_5_no_key_4(cli, emulator):
    unknown = cli("wait", "msgbatch_nope")
    assert unknown.exit_code == 5 and "request_id: req_" in unknown.stderr
    assert cli("wait", "job_000000000000").exit_code == 5
    batch = sdk_batch(emulator)
    assert cli("wait", batch, env={"ANTHROPIC_API_KEY": None}).exit_code == 4


@pytest.mark.parametrize("tty", [False, True])
def test_no_key_is_exit_4_before_any_display(cli, emulator, tty):
    batch = sdk_batch(emulator)
    result = cli("wait", batch, env={"ANTHROPIC_API_KEY": None}, tty=tty)
    assert result.exit_code == 4
    assert "ANTHROPIC_API_KEY" in result.stderr
    assert "msgbatch_" not in result.stderr  # no bar, no line about it: the key comes first
    assert result.stdout == ""


def test_api_down_from_the_start_is_exit_6(make_emulator, clock):
    emu = make_emulator(fault_rate=1.0, fault_endpoints=frozenset({"retrieve"}))
    batch = sdk_batch(emu)
    result = on(emu, clock, "wait", batch, api_max_retries=0)
    assert result.exit_code == 6
    assert "request_id: req_" in result.stderr


# -- the core loop --------------------------------------------------------------------------
def test_backoff_default_grows_to_a_minute_with_jitter():
    backoff = Backoff()
    first = [backoff.next(0) for _ in range(50)]
    assert all(FIRST_INTERVAL * 0.9 <= v <= FIRST_INTERVAL * 1.1 for v in first)
    assert len(set(first)) > 40  # jittered
    assert 27 <= backoff.next(300) <= 33
    assert all(MAX_INTERVAL * 0.9 <= backoff.next(t) <= MAX_INTERVAL * 1.1 for t in (900, 86400))
    assert Backoff(interval=2.5).next(5000) == 2.5


@dataclass
class SuspendingClock:
    """A laptop lid: each sleep lasts far longer in wall time than asked."""

    now: float = 1000.0
    calls: int = 0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.calls += 1
        self.now += seconds * 100


def test_sleep_is_measured_on_the_wall_clock():
    clock = SuspendingClock()
    sleep_until(clock, clock.now + 60)
    assert clock.calls == 1  # woke after a suspend: the deadline has passed, no more sleeping
    steady = FakeClock()
    sleep_until(steady, steady.now + 12)
    assert steady.sleeps == [5.0, 5.0, 2.0]


def test_wait_for_keeps_polling_through_a_brief_outage(make_emulator, tmp_path, clock, state_dir):
    emu = make_emulator(processing_seconds=120, fault_rate=0.5, seed=11,
                        fault_endpoints=frozenset({"retrieve"}))
    batch = sdk_batch(emu, 2)
    api = api_on(emu, clock, state_dir, max_retries=0)
    store = Store.open(state_dir, clock=clock)
    targets = resolve_targets(store, [batch], base_url=api.base_url)
    try:
        for _attempt in range(20):  # the first poll must succeed (else it is exit 6 at once)
            try:
                events, records = gather(wait_for(api, store, targets, WaitOptions(interval=5),
                                                  clock=clock))
                break
            except UnavailableError:
                continue
    finally:
        api.close()
        store.close()
    changes = [(e.record["processing_status"], e.previous) for e in events
               if isinstance(e, BatchChanged)]
    errors = [e.error for e in events if isinstance(e, PollFailed)]
    ticks = [e.now for e in events if isinstance(e, Polled)]
    assert records[0]["processing_status"] == "ended"
    assert errors and all(isinstance(e, UnavailableError) for e in errors)
    assert [c[0] for c in changes] == ["in_progress", "ended"]
    assert changes[0][1] is None and changes[1][1]["processing_status"] == "in_progress"
    assert ticks == sorted(ticks) and len(ticks) >= 120 / 5
