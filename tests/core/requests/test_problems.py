"""Validation output a person can read (issue 21, item 7): the same problem on many lines is one
line that says how many and which; the cut-off line names --all-problems where the command has
it. (The length a length rule found: tests/core/requests/test_requests.py; a short id prefix:
tests/core/tracking/test_status.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.requests.problems import Problems
from tests.helpers import invoke
from tests.support.paths import ROOT
from tests.support.runs import assert_plain


def request(custom_id: str, **extra: Any) -> str:
    params = {"model": "claude-haiku-4-5", "max_tokens": 16,
              "messages": [{"role": "user", "content": "hi"}], **extra}
    return json.dumps({"custom_id": custom_id, "params": params})


def test_one_line_per_message_with_how_many_lines_and_which() -> None:
    found = Problems("f.jsonl", max_groups=50)
    for n in (3, 7, 8, 9, 12):
        found.add(n, "params.stream: drop it [stream]")
    found.add(5, "params.model is missing")
    found.add(9, "params.stream: drop it [stream]")  # twice on one line: one line still
    assert found.count == 7 and found.more == 0
    assert found.lines() == [
        "f.jsonl:3: params.stream: drop it [stream] (6 lines: 3, 7-9, 12)",
        "f.jsonl:5: params.model is missing",
    ]


def test_memory_stays_bounded_the_rest_is_counted() -> None:
    found = Problems("f.jsonl", max_groups=2)
    for n in range(1, 200, 2):  # 100 lines, no two consecutive: more runs than are kept
        found.add(n, "same")
    found.add(2, "other")
    found.add(4, "a third message")  # past max_groups: counted, not kept
    assert found.count == 102 and found.more == 1
    assert found.lines() == ["f.jsonl:1: same (100 lines: 1, 3, 5, 7, 9, 11, …)",
                             "f.jsonl:2: other"]
    every = Problems("f.jsonl", max_groups=None)  # --all-problems: every line named
    for n in range(1, 20, 2):
        every.add(n, "same")
    assert every.lines() == ["f.jsonl:1: same (10 lines: 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)"]


@pytest.mark.parametrize("tty", [False, True])
def test_a_file_with_one_mistake_on_every_line_reads_as_one_line(tmp_path: Path,
                                                                 tty: bool) -> None:
    path = tmp_path / "in.jsonl"
    lines = [request(f"r{i}", stream=True) for i in range(100)]
    lines[49] = request("ok")
    lines.append(request("r 100"))
    path.write_text("\n".join(lines) + "\n")
    result = invoke(["--emulator", "submit", "--dry-run", str(path)], tty=tty, width=400)
    assert result.exit_code == 3
    assert result.stdout == ""
    problems = [x for x in result.stderr.splitlines() if x.startswith(f"{path}:")]
    assert problems == [
        f"{path}:1: params.stream: streaming is not supported in the Message Batches API; drop "
        "stream [stream; source: https://platform.claude.com/docs/en/build-with-claude/"
        "batch-processing] (99 lines: 1-49, 51-100)",
        f'{path}:101: custom_id "r 100" must be 1 to 64 characters from a-z A-Z 0-9 _ -: it has '
        '" " at character 2',
    ]
    assert "100 problems; nothing was submitted" in result.stderr
    if not tty:
        assert_plain(result.stderr)


@pytest.mark.parametrize("command", ["submit", "run"])
def test_the_cut_off_line_names_all_problems(tmp_path: Path, command: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(request(f"bad id {i}") + "\n" for i in range(53)))
    result = invoke(["--emulator", command, str(path)])
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == "... and 3 more problems: --all-problems lists every one"


def test_prepare_has_no_all_problems_so_its_cut_off_line_names_none(tmp_path: Path) -> None:
    src = tmp_path / "q.csv"
    src.write_text("id,prompt\n" + "".join(f"a{i},\n" for i in range(51)))
    result = invoke(["prepare", str(src), "--column", "prompt", "--id-column", "id"])
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr.splitlines()[-1] == "... and 1 more problem"


def test_every_rule_source_is_a_page_or_a_file_a_user_can_open() -> None:
    """Not "issue #12": this project's issue numbers mean nothing to a user (item 7). Each
    source is an https URL, or a file of batchctl a user has (its dated model table)."""
    from batchctl.core.requests.ruletable import TABLE

    for rule in TABLE:
        for source in rule.source.split("; "):
            assert source.startswith("https://") or (ROOT / source).is_file(), (rule.id, source)
            assert " #" not in source, (rule.id, source)  # "issue #12", "PR #89"
