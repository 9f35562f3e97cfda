"""What caching did, in every results summary (issue 20 item 4, "Prove it"): the stderr summary of
`results`, `run` and `collect`, `--summary-json` and the GitHub step summary, through the emulator
(which caches prompts: emulator/cachesim.py). The expected hit rate and saving are worked out here
from the usage the emulator returned, at Haiku 4.5's batch prices written out below, not with
batchctl's price code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.files import request, write_jsonl
from tests.support.runs import cli_on, submit

ROOT = Path(__file__).resolve().parents[2]
SHARED_DOC = ROOT / "samples" / "shared_doc.jsonl"  # claude-haiku-4-5: minimum 4,096 tokens
HOUR = {"type": "ephemeral", "ttl": "1h"}
# claude-haiku-4-5, USD per million tokens at standard rates (pricing page); batch: half
IN, OUT, WRITE_5M, WRITE_1H, READ = 1.0, 5.0, 1.25, 2.0, 0.10
OLD_KEYS = {"batches", "path", "bytes", "results", "counts", "error_types", "input_tokens",
            "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
            "est_cost_usd", "cost_by_model", "unpriced_models", "prices_as_of", "prices_file"}


def shared_doc(count: int, start: int = 0, marker: dict | None = HOUR) -> list[dict[str, Any]]:
    """Requests ``start``.. of samples/shared_doc.jsonl, its system block marked with ``marker``
    (the file as written has none)."""
    lines = [json.loads(x) for x in SHARED_DOC.read_text().splitlines()[start:start + count]]
    for line in lines:
        if marker is not None:
            line["params"]["system"][-1]["cache_control"] = marker
    return lines


def short(count: int, prefix: str = "s") -> list[dict[str, Any]]:
    """Marked requests whose system prompt (about 300 tokens) is under Haiku 4.5's minimum."""
    system = [{"type": "text", "text": "You answer in one word. " * 50, "cache_control": HOUR}]
    return [request(f"{prefix}{i}", f"Question {i}?", system=system) for i in range(count)]


def usages(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x)["result"]["message"]["usage"] for x in path.read_text().splitlines()]


def expected(found: list[dict[str, Any]]) -> tuple[float, float, float]:
    """(hit rate, cost without caching, saving) of results' usage, at batch rates."""
    read = sum(u["cache_read_input_tokens"] for u in found)
    written = sum(u["cache_creation_input_tokens"] for u in found)
    hour = sum(u["cache_creation"]["ephemeral_1h_input_tokens"] for u in found)
    plain = sum(u["input_tokens"] for u in found) + read + written
    output = sum(u["output_tokens"] for u in found)
    cost = (plain - read - written) * IN + output * OUT + hour * WRITE_1H + \
        (written - hour) * WRITE_5M + read * READ
    without = plain * IN + output * OUT
    return read / (read + written), without / 2e6, (without - cost) / 2e6


def usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 else f"${value:.4f}"


def stderr_lines(result: Any) -> list[str]:
    return [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in result.stderr.splitlines()]


def test_a_warmed_up_job_reports_its_hit_rate_and_saving_everywhere(
    tmp_path: Path, make_emulator: Any, clock: Any
) -> None:
    cli = cli_on(make_emulator(cache_hit_rate=0.8), clock)  # best effort: some write again
    submit(cli, write_jsonl(tmp_path / "warm.jsonl", shared_doc(1)))
    clock.advance(61)  # the warm-up has ended: the rest reads what it wrote
    _, (batch,) = submit(cli, write_jsonl(tmp_path / "rest.jsonl", shared_doc(30, start=1)))
    clock.advance(61)
    out, js, step = tmp_path / "out.jsonl", tmp_path / "summary.json", tmp_path / "step.md"
    got = cli("results", batch, "-o", str(out), "--summary-json", str(js),
              env={"GITHUB_STEP_SUMMARY": str(step)})
    assert got.exit_code == 0, got.stderr
    assert got.stdout == ""
    found = usages(out)
    hit, without, saved = expected(found)
    assert 0.6 < hit < 0.95
    data = json.loads(js.read_text())
    assert set(data) >= OLD_KEYS  # the keys scripts read are all still there
    assert data["cache_hit_rate"] == round(hit, 4)
    assert data["saved_usd"] == pytest.approx(saved, abs=2e-6)
    assert data["cost_without_cache_usd"] == pytest.approx(without, abs=2e-6)
    assert data["cache_read_input_tokens"] == sum(u["cache_read_input_tokens"] for u in found)
    assert data["cache_marked_requests"] == 30
    assert (data["cache_groups_flagged"], data["cache_groups"]) == (0, [])
    line = f"cache: {hit:.1%} hit rate (by tokens); saved {usd(saved)} of {usd(without)} without caching"
    assert line in stderr_lines(got)
    assert not any(x.startswith("cache group") for x in stderr_lines(got))
    assert f"**Cache:** {line.removeprefix('cache: ')}" in step.read_text()


def test_one_batch_that_only_writes_and_a_prefix_under_the_minimum_are_named(
    tmp_path: Path, make_emulator: Any, clock: Any
) -> None:
    """Processed at once, the shared document's 5 requests each write it (writes outnumber
    reads); the 4 short ones cache nothing: both groups named, with the line they start on."""
    cli = cli_on(make_emulator(processing_seconds=0), clock)
    path = write_jsonl(tmp_path / "mixed.jsonl", shared_doc(5) + short(4))
    submitted = cli("submit", str(path))
    assert f"{path}:6: params.system.0.cache_control: the prefix up to this marker is under" in \
        submitted.stderr  # submit warned (cache-prefix-min); the summary shows it came true
    batch = submitted.stdout.strip()
    clock.advance(1)
    out, js, step = tmp_path / "out.jsonl", tmp_path / "s.json", tmp_path / "step.md"
    got = cli("results", batch, "-o", str(out), "--summary-json", str(js),
              env={"GITHUB_STEP_SUMMARY": str(step)})
    assert got.exit_code == 0, got.stderr
    found = usages(out)
    written = sum(u["cache_creation_input_tokens"] for u in found)
    assert written and not any(u["cache_read_input_tokens"] for u in found)
    _, without, saved = expected(found)
    assert saved < 0  # writing at 2x and never reading cost more than not caching
    data = json.loads(js.read_text())
    assert data["cache_hit_rate"] == 0.0 and data["saved_usd"] == pytest.approx(saved, abs=2e-6)
    assert data["cache_groups_flagged"] == 2
    doc, under = data["cache_groups"]
    assert (doc["group"], doc["first_line"], doc["first_custom_id"], doc["requests"]) == (1, 1, "q001", 5)
    assert doc["flags"] == ["writes_outnumber_reads"] and doc["cache_creation_input_tokens"] == written
    assert (under["group"], under["first_line"], under["first_custom_id"],
            under["requests"]) == (2, 6, "s0", 4)
    assert under["flags"] == ["no_cache"] and under["min_cacheable_tokens"] == 4096
    assert under["results"] == 4 and under["cache_hit_rate"] is None
    lines = stderr_lines(got)
    assert (f"cache: 0.0% hit rate (by tokens); {usd(-saved)} more than the {usd(without)} "
            "without caching") in lines
    assert any(x.startswith(f"cache group 1: 5 requests of claude-haiku-4-5 from line 1 (q001): wrote "
                            f"{written:,} tokens, read 0 (") for x in lines)
    assert ("cache group 2: 4 requests of claude-haiku-4-5 from line 6 (s0): nothing cached in 4 "
            "results; is the marked prefix under claude-haiku-4-5's minimum of 4,096 tokens?") in lines
    md = step.read_text()
    assert "- **Cache group 2:** 4 requests of claude-haiku-4-5 from line 6 (s0): nothing cached" in md


def test_markers_sent_and_nothing_cached_is_said(tmp_path: Path, make_emulator: Any, clock: Any) -> None:
    cli = cli_on(make_emulator(), clock)
    _, (batch,) = submit(cli, write_jsonl(tmp_path / "short.jsonl", short(3)))
    clock.advance(61)
    got = cli("results", batch, "-o", str(tmp_path / "out.jsonl"))
    assert got.exit_code == 0, got.stderr
    lines = stderr_lines(got)
    assert "cache: nothing was cached, although 3 requests carried a cache_control marker" in lines
    assert [x for x in lines if x.startswith("cache group")] == [
        "cache group 1: 3 requests of claude-haiku-4-5 from line 1 (s0): nothing cached in 3 "
        "results; is the marked prefix under claude-haiku-4-5's minimum of 4,096 tokens?"]


def test_no_cache_lines_when_no_marker_was_sent(tmp_path: Path, make_emulator: Any, clock: Any) -> None:
    cli = cli_on(make_emulator(), clock)
    _, (batch,) = submit(cli, write_jsonl(tmp_path / "plain.jsonl", shared_doc(3, marker=None)))
    clock.advance(61)
    js, step = tmp_path / "s.json", tmp_path / "step.md"
    got = cli("results", batch, "--summary-json", str(js), env={"GITHUB_STEP_SUMMARY": str(step)})
    assert got.exit_code == 0, got.stderr
    assert got.stdout.count("\n") == 3  # the results, on stdout; the summary on stderr
    assert not any(x.startswith("cache") for x in stderr_lines(got))
    assert "Cache" not in step.read_text()
    data = json.loads(js.read_text())
    assert (data["cache_hit_rate"], data["saved_usd"], data["cache_marked_requests"]) == (None, 0.0, 0)
    assert (data["cache_groups_flagged"], data["cache_groups"]) == (0, [])


def test_run_and_collect_say_it_on_stderr(tmp_path: Path, make_emulator: Any, clock: Any) -> None:
    cli = cli_on(make_emulator(processing_seconds=0), clock)
    step = tmp_path / "step.md"
    ran = cli("run", str(write_jsonl(tmp_path / "a.jsonl", short(2, "a"))), "-o",
              str(tmp_path / "a-out.jsonl"), "--interval", "1", env={"GITHUB_STEP_SUMMARY": str(step)})
    assert ran.exit_code == 0, ran.stderr
    assert "cache: nothing was cached, although 2 requests carried a cache_control marker" in \
        stderr_lines(ran)
    _, (batch,) = submit(cli, write_jsonl(tmp_path / "b.jsonl", short(3, "b")))
    clock.advance(1)
    collected = cli("collect", "--dir", str(tmp_path / "c"), env={"GITHUB_STEP_SUMMARY": str(step)})
    assert collected.exit_code == 0, collected.stderr
    lines = stderr_lines(collected)
    assert f"{batch} cache: nothing was cached, although 3 requests carried a cache_control marker" in lines
    assert any(x.startswith(f"{batch} cache group 1: 3 requests of claude-haiku-4-5 from line 1 (b0)")
               for x in lines)
    md = step.read_text()
    assert md.count("**Cache:** nothing was cached") == 2  # run's section, then collect's


@pytest.mark.parametrize("width", [60, 80])
def test_on_a_narrow_terminal_the_cache_lines_fold_under_their_label(
    tmp_path: Path, make_emulator: Any, clock: Any, width: int
) -> None:
    """On a terminal the summary's lines fold at spaces to the width, the folds indented under
    their label; stdout, with -o, stays empty."""
    cli = cli_on(make_emulator(processing_seconds=0), clock)
    batch = cli("submit", str(write_jsonl(tmp_path / "m.jsonl", shared_doc(2) + short(2)))).stdout.strip()
    clock.advance(1)
    got = cli("results", batch, "-o", str(tmp_path / "out.jsonl"), tty=True, width=width)
    assert got.exit_code == 0, got.stderr
    assert got.stdout == ""
    screen = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", x).rstrip() for x in got.stderr.splitlines()]
    start = next(i for i, x in enumerate(screen) if x.startswith("  cache group 2: "))
    assert all(len(x) <= width for x in screen[start - 4:])
    block = [screen[start]]
    block += [x for x in screen[start + 1:] if x.startswith("    ")]
    assert " ".join(x.strip() for x in block) == (
        "cache group 2: 2 requests of claude-haiku-4-5 from line 3 (s0): nothing cached in 2 "
        "results; is the marked prefix under claude-haiku-4-5's minimum of 4,096 tokens?")
    assert len(block) > 1  # folded, every fold under the label


def test_a_request_file_changed_since_submit_names_no_group(
    tmp_path: Path, make_emulator: Any, clock: Any
) -> None:
    cli = cli_on(make_emulator(processing_seconds=0), clock)
    path = write_jsonl(tmp_path / "m.jsonl", shared_doc(2))
    _, (batch,) = submit(cli, path)
    clock.advance(1)
    path.write_bytes(path.read_bytes() + b"\n")  # no longer the bytes submitted
    js = tmp_path / "s.json"
    got = cli("results", batch, "-o", str(tmp_path / "out.jsonl"), "--summary-json", str(js))
    assert got.exit_code == 0, got.stderr
    data = json.loads(js.read_text())
    assert data["cache_marked_requests"] is None and data["cache_groups"] == []
    assert data["cache_hit_rate"] == 0.0  # the figures come from the results alone
    lines = stderr_lines(got)
    assert any(x.startswith("cache: 0.0% hit rate") for x in lines)
    assert not any(x.startswith("cache group") for x in lines)
