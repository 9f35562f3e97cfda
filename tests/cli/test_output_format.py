"""The format of `-o PATH` comes from its extension, or from --format: an extension batchctl
does not write is refused before anything is sent, rather than filled with JSONL silently; a
device, FIFO or descriptor keeps working with --format or the default (issue 15, item 8)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.files import FifoReader, read_csv
from tests.support.paths import QUESTIONS


def is_jsonl(data: bytes, count: int = 6) -> bool:
    lines = data.splitlines()
    return len(lines) == count and all("custom_id" in json.loads(line) for line in lines)


def is_csv(data: bytes, count: int = 6) -> bool:
    return data.startswith(b"custom_id,result_type,") and len(read_csv(data)) == count


def test_run_with_an_unknown_extension_sends_nothing(cli: Any, emulator: Any, tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    got = cli("run", str(QUESTIONS), "-o", str(out))
    assert got.exit_code == 2
    assert got.stdout == ""
    assert str(out) in got.stderr
    assert ".jsonl" in got.stderr and ".csv" in got.stderr and "--format" in got.stderr
    assert "Traceback" not in got.stderr
    assert emulator.batches() == []  # refused before the submit: nothing billed
    assert not out.exists()


def test_run_with_an_unknown_extension_and_format_writes_that_format(
    cli: Any, tmp_path: Path
) -> None:
    out = tmp_path / "x.xlsx"
    got = cli("run", str(QUESTIONS), "-o", str(out), "--format", "csv")
    assert got.exit_code == 0, got.stderr
    assert is_csv(out.read_bytes(), 15)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("r.jsonl", "jsonl"),
        ("r.ndjson", "jsonl"),
        ("r.csv", "csv"),
        ("R.CSV", "csv"),
        ("results", "jsonl"),  # no extension: the default, as on stdout
    ],
)
def test_results_takes_the_format_from_a_known_extension(
    ended: Any, cli: Any, tmp_path: Path, name: str, expected: str
) -> None:
    out = tmp_path / name
    got = cli("results", ended.id, "-o", str(out))
    assert got.exit_code == 0, got.stderr
    assert got.stdout == ""
    assert (is_csv if expected == "csv" else is_jsonl)(out.read_bytes())


@pytest.mark.parametrize(
    "name, words",
    [
        ("r.xlsx", "does not write .xlsx files"),
        ("r.jsonl.gz", "does not write .gz files"),
        ("r.txt", "does not write .txt files"),
        ("r.json", "not one JSON document"),
    ],
)
def test_results_refuses_an_unknown_extension(
    ended: Any, cli: Any, tmp_path: Path, name: str, words: str
) -> None:
    out = tmp_path / name
    got = cli("results", ended.id, "-o", str(out))
    assert got.exit_code == 2
    assert got.stdout == ""
    assert words in got.stderr and str(out) in got.stderr and "--format" in got.stderr
    assert not out.exists()
    assert list(tmp_path.glob(f".{name}.*")) == []  # not even a temp file
    forced = cli("results", ended.id, "-o", str(out), "--format", "jsonl")
    assert forced.exit_code == 0, forced.stderr
    assert is_jsonl(out.read_bytes())


def test_a_json_name_is_told_the_jsonl_name(ended: Any, cli: Any, tmp_path: Path) -> None:
    got = cli("results", ended.id, "-o", str(tmp_path / "answers.json"))
    assert got.exit_code == 2
    assert "answers.jsonl" in got.stderr


def test_a_symlink_without_an_extension_takes_its_targets(
    ended: Any, cli: Any, tmp_path: Path
) -> None:
    real = tmp_path / "answers.csv"
    link = tmp_path / "latest"
    link.symlink_to(real.name)
    got = cli("results", ended.id, "-o", str(link))
    assert got.exit_code == 0, got.stderr
    assert link.is_symlink() and is_csv(real.read_bytes())
    bad = tmp_path / "other"
    bad.symlink_to("sheet.xlsx")
    refused = cli("results", ended.id, "-o", str(bad))
    assert refused.exit_code == 2 and ".xlsx" in refused.stderr


@pytest.mark.parametrize("fmt", [None, "csv"])
def test_a_fifo_with_an_unknown_extension_keeps_working(
    ended: Any, cli: Any, tmp_path: Path, fmt: str | None
) -> None:
    reader = FifoReader(tmp_path / "pipe.xlsx")  # a name is no file type for a FIFO
    got = cli("results", ended.id, "-o", str(reader.path), *(["--format", fmt] if fmt else []))
    assert got.exit_code == 0, got.stderr
    data = reader.join()
    assert is_csv(data) if fmt == "csv" else is_jsonl(data)


def test_a_fifo_with_a_known_extension_takes_it(ended: Any, cli: Any, tmp_path: Path) -> None:
    reader = FifoReader(tmp_path / "pipe.csv")
    got = cli("results", ended.id, "-o", str(reader.path))
    assert got.exit_code == 0, got.stderr
    assert is_csv(reader.join())


def test_dash_is_stdout_in_the_default_format(ended: Any, cli: Any) -> None:
    got = cli("results", ended.id, "-o", "-")  # /dev/stdout: tests/cli/test_output_targets.py
    assert got.exit_code == 0, got.stderr
    assert is_jsonl(got.stdout.encode())


def test_json_with_a_csv_name_is_refused(ended: Any, cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    got = cli("results", ended.id, "-o", str(out), "--json")
    assert got.exit_code == 2
    assert "--json" in got.stderr and got.stdout == ""
    assert not out.exists()


def test_collect_help_offers_no_output_file(cli: Any) -> None:
    got = cli("collect", "--help")
    assert got.exit_code == 0
    assert not re.search(r"(?<![\w-])-o\b", got.stdout)  # no -o: one file per batch, in --dir
    assert "--dir" in got.stdout and "--format" in got.stdout
