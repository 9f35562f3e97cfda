"""Eight processes at once on one state store (which none of them has created yet), submitting,
then submitting and collecting: no "database is locked", no lost rows, every batch made once and
collected once. On both backends; on PostgreSQL each process has its own state directory, as on
separate machines sharing the store."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support import warm
from tests.support.files import padded, write_requests
from tests.support.processes import child_env
from tests.support.stores import sound, store_query

PROCESSES = 8
# Sixteen processes at once on two cores: a generous bound, still a bound.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # -m "not slow" leaves it out


def homes(tmp_path: Path, store: str, count: int) -> list[Path]:
    """One state dir for all on SQLite (the store is in it); one each on PostgreSQL."""
    if store == "sqlite":
        return [tmp_path / "state"] * count
    return [tmp_path / f"host{i}" for i in range(count)]


def run_all(commands: list[list[str]], dirs: list[Path], store: str
            ) -> list[subprocess.CompletedProcess[str]]:
    """Start every batchctl command at once, each a process on its state dir; wait for all."""
    procs = [warm.spawn(args, child_env(home, BATCHCTL_STORE=store))
             for args, home in zip(commands, dirs, strict=True)]
    done = []
    for args, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return done


def assert_all_ok(results: list[subprocess.CompletedProcess[str]]) -> None:
    for r in results:
        assert "locked" not in r.stderr.lower(), r.stderr
        assert "busy" not in r.stderr.lower(), r.stderr
        assert r.returncode == 0, (r.args, r.returncode, r.stderr)


def test_eight_processes_submitting_and_collecting_on_one_store(
    make_emulator: Any, tmp_path: Path, store_value: str
) -> None:
    emu = make_emulator(real_clock=True)
    dirs = homes(tmp_path, store_value, PROCESSES)

    def rows(sql: str) -> list[tuple]:
        return store_query(dirs[0], store_value, sql)

    sizes = [40 + i for i in range(PROCESSES)]
    files = [write_requests(tmp_path / f"f{i}.jsonl", n, f"c{i}-", padded(40), max_tokens=64)
             for i, n in enumerate(sizes)]
    results = run_all([["--base-url", emu.base_url, "submit", str(f)] for f in files], dirs,
                      store_value)
    assert_all_ok(results)
    ids = [r.stdout.strip() for r in results]
    assert len(set(ids)) == PROCESSES
    got = rows("SELECT id, request_count, request_file FROM batches")
    assert sorted(got) == sorted(zip(ids, sizes, [str(f) for f in files], strict=True))
    assert len(rows("SELECT id FROM jobs")) == PROCESSES
    assert rows("SELECT count(*) FROM intents WHERE state != 'done'") == [(0,)]
    remote = {b["id"]: sum(b["request_counts"].values()) for b in emu.batches()}
    assert remote == dict(zip(ids, sizes, strict=True))
    assert sound(dirs[0], store_value)

    # Then eight at once again: four collect everything, four submit new files.
    outs = [tmp_path / f"collected{i}" for i in range(4)]
    more = [write_requests(tmp_path / f"g{i}.jsonl", 60 + i, f"g{i}-", padded(40), max_tokens=64)
            for i in range(4)]
    mixed = [["--base-url", emu.base_url, "collect", "--dir", str(out)] for out in outs]
    mixed += [["--base-url", emu.base_url, "submit", str(f)] for f in more]
    second = run_all(mixed, dirs, store_value)
    assert_all_ok(second)
    new_ids = [r.stdout.strip() for r in second[4:]]
    # Every batch of the first round was collected exactly once, complete; none twice.
    files = sorted(p for out in outs if out.exists() for p in out.iterdir())
    assert [p.name for p in files if p.name.endswith(".tmp")] == []
    collected = {p.name.rsplit("-", 1)[-1].removesuffix(".jsonl"): p for p in files}
    assert set(ids) <= set(collected), (sorted(collected), ids)
    assert len(collected) == len(files)
    for batch_id, n in zip(ids, sizes, strict=True):
        assert collected[batch_id].read_bytes().count(b"\n") == n
    assert rows("SELECT count(*) FROM batches WHERE collected_at IS NULL AND id IN "
                f"({','.join(repr(i) for i in ids)})") == [(0,)]
    assert len(rows("SELECT id FROM batches")) == PROCESSES + 4
    assert len(rows("SELECT id FROM jobs")) == PROCESSES + 4
    remote = {b["id"]: sum(b["request_counts"].values()) for b in emu.batches()}
    assert remote == dict(zip(ids + new_ids, [*sizes, 60, 61, 62, 63], strict=True))
    assert sound(dirs[0], store_value)


def test_eight_processes_submitting_the_same_content_make_one_batch(
    make_emulator: Any, tmp_path: Path, store_value: str
) -> None:
    emu = make_emulator(real_clock=True)
    dirs = homes(tmp_path, store_value, PROCESSES)
    path = write_requests(tmp_path / "same.jsonl", 500, "same-", padded(400), max_tokens=64)
    results = run_all([["--base-url", emu.base_url, "submit", str(path)]] * PROCESSES, dirs,
                      store_value)
    assert_all_ok(results)
    ids = {r.stdout.strip() for r in results}
    assert len(ids) == 1, [r.stdout for r in results]
    assert [b["id"] for b in emu.batches()] == list(ids)
    assert store_query(dirs[0], store_value, "SELECT count(*) FROM jobs") == [(1,)]
    assert store_query(dirs[0], store_value, "SELECT count(*) FROM batches") == [(1,)]
