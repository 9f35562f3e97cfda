"""`batchctl results`: bytes, formats, filters, order, atomic files, drops, summary, merge."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.state.store import Store
from tests.support import warm
from tests.support.files import read_csv, write_jsonl
from tests.support.files import request as any_request
from tests.support.processes import child_env
from tests.support.runs import cli_on, on, submit

MODEL = "claude-sonnet-4-6"
ANSI = "\x1b["


request = partial(any_request, model=MODEL, max_tokens=64)
write = write_jsonl


def ids(jsonl: str | bytes) -> list[str]:
    return [json.loads(line)["custom_id"] for line in jsonl.splitlines() if line.strip()]


# -- bytes ----------------------------------------------------------------------------------------
def test_jsonl_is_the_apis_bytes_unchanged(ended: Any, emulator: Any, cli: Any,
                                           tmp_path: Path) -> None:
    batch_id, _ = ended
    body = emulator.results_body(batch_id)
    piped = cli("results", batch_id)
    assert piped.exit_code == 0, piped.stderr
    assert piped.stdout_bytes == body
    assert len(ids(body)) == 6
    out = tmp_path / "out.jsonl"
    saved = cli("results", batch_id, "-o", str(out))
    assert saved.exit_code == 0, saved.stderr
    assert out.read_bytes() == body
    assert saved.stdout == ""
    assert cli("results", batch_id, "--json").stdout_bytes == body


def test_a_job_gives_its_parts_in_order_and_input_order_across_parts(
    tmp_path: Path, emulator: Any, clock: Any, cli: Any
) -> None:
    names = [f"q{i:02d}" for i in range(8)]
    path = write(tmp_path / "req.jsonl", [request(n, f"text {n}") for n in names])
    job, parts = submit(cli, path, "--max-requests", "3")
    assert len(parts) == 3
    clock.advance(3600)
    whole = cli("results", job)
    assert whole.exit_code == 0, whole.stderr
    assert whole.stdout_bytes == b"".join(emulator.results_body(b) for b in parts)
    assert ids(whole.stdout) != names  # the API's order is shuffled...
    ordered = cli("results", job, "--order", "input")
    assert ordered.exit_code == 0, ordered.stderr
    assert ids(ordered.stdout) == names  # ...and --order input puts it back, across parts
    lines = {json.loads(x)["custom_id"]: x for x in whole.stdout.splitlines()}
    assert ordered.stdout.splitlines() == [lines[n] for n in names]  # lines unchanged
    assert "3 batches: 8 results" in ordered.stderr


def test_order_input_needs_a_tracked_batch(emulator: Any, clock: Any, cli: Any) -> None:
    with emulator.client() as client:
        reqs: Any = [request("a", "x")]
        batch_id = client.messages.batches.create(requests=reqs).id
    clock.advance(3600)
    plain = cli("results", batch_id)  # untracked: plain results still work
    assert plain.exit_code == 0 and ids(plain.stdout) == ["a"]
    ordered = cli("results", batch_id, "--order", "input")
    assert ordered.exit_code == 5
    assert "not tracked" in ordered.stderr and "--order input" in ordered.stderr
    assert ordered.stdout == ""


def test_order_input_refuses_a_changed_request_file(ended: Any, cli: Any) -> None:
    batch_id, path = ended
    path.write_bytes(path.read_bytes().replace(b"question 3", b"question 9"))
    result = cli("results", batch_id, "--order", "input")
    assert result.exit_code == 7
    assert "changed since it was submitted" in result.stderr
    assert result.stdout == ""


# -- CSV ------------------------------------------------------------------------------------------
def test_csv_from_the_emulator_matches_the_jsonl(tmp_path: Path, emulator: Any, clock: Any,
                                                 cli: Any) -> None:
    texts = ['quote " and, comma', "naïve café — 日本語", "plain"]
    path = write(tmp_path / "req.jsonl", [request(f"c{i}", t) for i, t in enumerate(texts)])
    _, (batch_id,) = submit(cli, path)
    clock.advance(3600)
    out = tmp_path / "r.CSV"  # the extension picks the format, in any case
    result = cli("results", batch_id, "-o", str(out), "--order", "input")
    assert result.exit_code == 0, result.stderr
    rows = read_csv(out.read_bytes())
    ordered = cli("results", batch_id, "--order", "input").stdout
    jsonl = [json.loads(x) for x in ordered.splitlines()]
    assert [r["custom_id"] for r in rows] == ["c0", "c1", "c2"]
    for row, rec in zip(rows, jsonl, strict=True):
        message = rec["result"]["message"]
        assert row["text"] == message["content"][0]["text"]
        assert row["model"] == MODEL and row["stop_reason"] == message["stop_reason"]
        assert row["output_tokens"] == str(message["usage"]["output_tokens"])
    assert 'quote "" and, comma' in out.read_text("utf-8")  # quoted, quotes doubled
    piped = cli("results", batch_id, "--format", "csv")  # the API's order, same rows
    assert sorted(read_csv(piped.stdout_bytes), key=lambda r: r["custom_id"]) == rows


# -- filters --------------------------------------------------------------------------------------
def test_only_filters_by_result_type(tmp_path: Path, make_emulator: Any, clock: Any) -> None:
    emu = make_emulator(error_rate=0.3, expire_rate=0.2, seed=4)
    path = write(tmp_path / "req.jsonl", [request(f"f{i}", f"t{i}") for i in range(40)])
    run = cli_on(emu, clock)
    _, (batch_id,) = submit(run, path)
    clock.advance(3600)
    counts = emu.client().messages.batches.retrieve(batch_id).request_counts
    assert counts.errored and counts.expired and counts.succeeded
    failed = run("results", batch_id, "--only", "errored, EXPIRED")
    assert failed.exit_code == 0, failed.stderr
    kinds = [json.loads(x)["result"]["type"] for x in failed.stdout.splitlines()]
    assert sorted(set(kinds)) == ["errored", "expired"]
    assert len(kinds) == counts.errored + counts.expired
    assert f"0 succeeded, {counts.errored} errored, 0 canceled, {counts.expired} expired" in \
        failed.stderr
    body = emu.results_body(batch_id).splitlines(keepends=True)
    assert failed.stdout_bytes == b"".join(x for x in body if b'"type":"succeeded"' not in x)
    bad = run("results", batch_id, "--only", "succeeded,bogus")
    assert bad.exit_code == 2 and "bogus" in bad.stderr and bad.stdout == ""


@pytest.mark.parametrize("args, words", [
    (["--order", "sideways"], "--order"),
    (["--format", "xml"], "--format"),
    (["--json", "--format", "csv"], "--json"),
])
def test_bad_options_are_usage_errors(ended: Any, cli: Any, args: list[str], words: str) -> None:
    result = cli("results", ended[0], *args)
    assert result.exit_code == 2
    assert words in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


# -- not ended, archived --------------------------------------------------------------------------
def test_a_running_batch_exits_8_and_writes_nothing(tmp_path: Path, cli: Any) -> None:
    path = write(tmp_path / "req.jsonl", [request("a", "x")])
    _, (batch_id,) = submit(cli, path)
    out = tmp_path / "out.jsonl"
    result = cli("results", batch_id, "-o", str(out))
    assert result.exit_code == 8
    assert "in_progress" in result.stderr
    assert re.search(rf"hint: wait for it: batchctl --base-url \S+ --state-dir \S+ wait {batch_id}$",
                     result.stderr, re.M)
    assert result.stdout == "" and not out.exists()
    assert list(tmp_path.glob(".out.jsonl*")) == []


def test_archived_results_exit_5_with_a_clear_message(tmp_path: Path, make_emulator: Any,
                                                      clock: Any) -> None:
    emu = make_emulator(archive_seconds=7200)
    run = cli_on(emu, clock)
    _, (batch_id,) = submit(run, write(tmp_path / "req.jsonl", [request("a", "x")]))
    clock.advance(7201)
    result = run("results", batch_id)
    assert result.exit_code == 5
    assert "archived" in result.stderr and "29 days" in result.stderr
    assert result.stdout == ""


# -- nothing half-written -------------------------------------------------------------------------
def _drop_seed(rate: float, at_least: float) -> int:
    """A seed whose first results download is cut after ``at_least`` of the body and whose
    second is not (the emulator's own fault stream, as the oracle)."""
    from batchctl.emulator import EmulatorConfig
    from batchctl.emulator.faults import Faults

    for seed in range(1000):
        faults = Faults(EmulatorConfig(drop_rate=rate, seed=seed))
        first = faults.drop_point(1_000_000)
        if first is not None and first >= at_least * 1_000_000 and faults.drop_point(10) is None:
            return seed
    raise AssertionError("no such seed")


@pytest.mark.parametrize("target, count", [("stdout", 30), ("file", 4000)])
def test_a_dropped_stream_is_fetched_again_and_comes_out_complete(
    tmp_path: Path, make_emulator: Any, clock: Any, target: str, count: int
) -> None:
    # 4,000 results are ~2.2 MB: cut after 60% of it, some twenty 64 KiB chunks were passed on,
    # so the second download must skip exactly those bytes (checked by their sha256).
    emu = make_emulator(drop_rate=0.5, seed=_drop_seed(0.5, 0.6))
    run = cli_on(emu, clock)
    path = write(tmp_path / "req.jsonl", [request(f"d{i}", f"t{i}") for i in range(count)])
    _, (batch_id,) = submit(run, path)
    clock.advance(3600)
    out = tmp_path / "out.jsonl"
    args = ["-o", str(out)] if target == "file" else []
    result = run("results", batch_id, *args)
    assert result.exit_code == 0, result.stderr
    assert "was cut" in result.stderr and "fetching again" in result.stderr
    got = out.read_bytes() if target == "file" else result.stdout_bytes
    assert got == emu.results_file(batch_id)  # every byte once, none twice
    assert len(ids(got)) == count
    if count > 2000:
        assert re.search(r"cut after [1-9][\d,]{8,} bytes", result.stderr), result.stderr


def test_a_download_cut_every_time_exits_6_and_leaves_no_file(
    tmp_path: Path, make_emulator: Any, clock: Any
) -> None:
    emu = make_emulator(drop_rate=1.0)
    run = cli_on(emu, clock)
    _, (batch_id,) = submit(run, write(tmp_path / "req.jsonl", [request("a", "x" * 300)]))
    clock.advance(3600)
    (tmp_path / "out").mkdir()
    out = tmp_path / "out" / "out.jsonl"
    out.write_bytes(b"previous content\n")
    result = run("results", batch_id, "-o", str(out))
    assert result.exit_code == 6
    assert "cut off" in result.stderr and "Traceback" not in result.stderr
    assert out.read_bytes() == b"previous content\n"  # the target is untouched
    assert [p.name for p in out.parent.iterdir()] == ["out.jsonl"]  # no temp file left
    store = Store.open(Path(os.environ["BATCHCTL_HOME"]))
    assert store.get_batch(batch_id)["collected_at"] is None  # type: ignore[index]


class _StallResults:
    """WSGI middleware: a results body stops half-way until ``release`` is set."""

    def __init__(self, app: Any) -> None:
        self.app, self.started, self.release = app, threading.Event(), threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        body = self.app(environ, start_response)
        if not environ.get("PATH_INFO", "").endswith("/results"):
            return body
        data = b"".join(body)
        getattr(body, "close", lambda: None)()

        def stalled() -> Any:
            yield data[: len(data) // 2]
            self.started.set()
            self.release.wait(30)
            yield data[len(data) // 2 :]

        return stalled()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_process_killed_mid_download_leaves_no_partial_file(
    tmp_path: Path, clock: Any, state_dir: Path, sig: int
) -> None:
    from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

    stall = _StallResults(make_app(tmp_path / "emu", EmulatorConfig(processing_seconds=1),
                                   clock=clock.time))
    server = EmulatorServer(stall).start()  # type: ignore[arg-type]
    try:
        emu = type("E", (), {"base_url": server.base_url})()
        run = cli_on(emu, clock)
        # ~550 KB of results: more than the server sends in one go, so half of it is on the wire
        path = write(tmp_path / "req.jsonl", [request(f"k{i}", "y") for i in range(1000)])
        _, (batch_id,) = submit(run, path)
        clock.advance(10)
        out_dir = tmp_path / "out"
        out_dir.mkdir()
        target = out_dir / "results.jsonl"
        proc = warm.spawn(["--base-url", server.base_url, "results", batch_id, "-o", str(target)],
                          child_env(state_dir), text=False)
        try:
            assert stall.started.wait(60), "the download never started"
            deadline = time.monotonic() + 30
            while not list(out_dir.glob(".results.jsonl.*.tmp")):  # mid-download, on disk
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.01)
            proc.send_signal(sig)
            code = proc.wait(30)
        finally:
            stall.release.set()
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        assert not target.exists()
        left = list(out_dir.iterdir())
        if sig == signal.SIGTERM:
            assert code == 130 and left == []  # unwound: the temp file is gone too
        else:
            assert code == -signal.SIGKILL and len(left) == 1  # only the temp, beside it
            again = run("results", batch_id, "-o", str(target))  # the next run sweeps it
            assert again.exit_code == 0, again.stderr
            assert [p.name for p in out_dir.iterdir()] == ["results.jsonl"]
            assert len(ids(target.read_bytes())) == 1000
    finally:
        server.stop()


# -- the store ------------------------------------------------------------------------------------
def test_a_file_marks_the_batch_collected_stdout_does_not(ended: Any, cli: Any,
                                                          tmp_path: Path, state_dir: Path) -> None:
    batch_id, _ = ended
    assert cli("results", batch_id).exit_code == 0
    assert cli("results", batch_id, "-o", str(tmp_path / "x.jsonl"), "--only",
               "succeeded").exit_code == 0
    store = Store.open(state_dir)
    assert store.get_batch(batch_id)["collected_at"] is None  # type: ignore[index]
    out = tmp_path / "all.csv"
    assert cli("results", batch_id, "-o", str(out)).exit_code == 0
    row = store.get_batch(batch_id)
    assert row is not None
    assert row["collected_at"] is not None and row["results_path"] == str(out)


# -- summary --------------------------------------------------------------------------------------
def test_summary_off_a_terminal_is_plain(ended: Any, cli: Any) -> None:
    batch_id, _ = ended
    result = cli("results", batch_id, tty=False)
    lines = result.stderr.splitlines()
    assert lines[0] == f"{batch_id}: 6 results (jsonl, {len(result.stdout_bytes):,} bytes)"
    assert lines[1] == "results: 6 succeeded, 0 errored, 0 canceled, 0 expired"
    records = [json.loads(x) for x in result.stdout.splitlines()]
    tokens_in = sum(r["result"]["message"]["usage"]["input_tokens"] for r in records)
    tokens_out = sum(r["result"]["message"]["usage"]["output_tokens"] for r in records)
    assert lines[2] == f"tokens: {tokens_in:,} input, {tokens_out:,} output, 0 cache write, " \
                       "0 cache read"
    # claude-sonnet-4-6: $3 / $15 per million, half at batch rates
    cost = (tokens_in * 3 + tokens_out * 15) / 1e6 * 0.5
    assert lines[3].startswith(f"estimated cost: ${cost:.4f} at batch rates (prices as of ")
    assert ANSI not in result.stderr


def test_summary_on_a_terminal(ended: Any, cli: Any) -> None:
    result = cli("results", ended[0], tty=True)
    assert result.exit_code == 0
    assert ANSI in result.stderr and "✓" in result.stderr
    assert "6 succeeded" in result.stderr and "estimated cost" in result.stderr
    assert ANSI not in result.stdout and len(ids(result.stdout)) == 6  # data stays data


def test_an_unknown_model_gets_no_cost_until_prices_says(tmp_path: Path, make_emulator: Any,
                                                         clock: Any) -> None:
    emu = make_emulator(any_model=True)  # a model the API does not know answers not_found

    def cli(*args: str, **kwargs: Any) -> Any:
        return on(emu, clock, *args, **kwargs)

    path = write(tmp_path / "req.jsonl", [request("u", "x", model="claude-imaginary-9")])
    _, (batch_id,) = submit(cli, path, "--allow-unknown-model")
    clock.advance(3600)
    result = cli("results", batch_id)
    assert result.exit_code == 0
    assert "no cost estimate for model claude-imaginary-9" in result.stderr
    assert "estimated cost" not in result.stderr
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"as_of": "2030-01-01", "models": {
        "claude-imaginary-9": {"input": 1000000.0, "output": 0.0}}}))
    priced = cli("results", batch_id, "--prices", str(prices))
    tokens = json.loads(priced.stdout)["result"]["message"]["usage"]["input_tokens"]
    assert f"estimated cost: ${tokens * 0.5:,.2f} at batch rates (prices as of 2030-01-01, " \
           f"with {prices})" in priced.stderr
    prices.write_text('{"models": {"claude-imaginary-9": {"input": "cheap"}}}')
    bad = cli("results", batch_id, "--prices", str(prices))
    assert bad.exit_code == 2 and "--prices" in bad.stderr and bad.stdout == ""


# -- merged view ----------------------------------------------------------------------------------
def test_merge_retries_gives_the_newest_result_of_every_request(
    tmp_path: Path, make_emulator: Any, clock: Any
) -> None:
    emu = make_emulator(error_rate=0.5, seed=2)
    run = cli_on(emu, clock)
    names = [f"m{i}" for i in range(12)]
    _, (parent,) = submit(run, write(tmp_path / "req.jsonl", [request(n, n) for n in names]))
    clock.advance(3600)
    first = {json.loads(x)["custom_id"]: json.loads(x) for x in run("results", parent).stdout
             .splitlines()}
    failed = sorted(c for c, r in first.items() if r["result"]["type"] == "errored")
    assert failed
    generations = [parent]
    while True:  # retry until nothing is left (the emulator rolls outcomes again per batch)
        retried = run("retry-failed", generations[-1])
        assert retried.exit_code == 0, retried.stderr
        if not retried.stdout.strip():
            break
        generations.append(retried.stdout.split()[0])
        clock.advance(3600)
    assert len(generations) >= 2
    merged = run("results", parent, "--merge-retries", "--order", "input")
    assert merged.exit_code == 0, merged.stderr
    records = [json.loads(x) for x in merged.stdout.splitlines()]
    assert [r["custom_id"] for r in records] == names  # every request once, in input order
    assert {r["result"]["type"] for r in records} == {"succeeded"}
    for name in failed:  # a retried request's answer comes from the newest batch that has it
        newest = next(b for b in reversed(generations)
                      if name in ids(run("results", b).stdout))
        assert records[names.index(name)] == next(
            json.loads(x) for x in run("results", newest).stdout.splitlines()
            if json.loads(x)["custom_id"] == name)
    assert "12 succeeded, 0 errored" in merged.stderr
    unordered = run("results", parent, "--merge-retries")
    assert sorted(unordered.stdout.splitlines()) == sorted(merged.stdout.splitlines())

