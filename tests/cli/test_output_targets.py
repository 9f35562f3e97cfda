"""`-o PATH` never destroys what it points at: a symlink's target is replaced (the link stays),
a device, FIFO or /dev/stdout is written in place, `-o -` is stdout (issue 15, item 1)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.atomic import atomic_file, resolve_target
from batchctl.core.errors import UsageError
from batchctl.core.state.store import Store
from tests.support import warm
from tests.support.files import FifoReader, write_requests
from tests.support.processes import child_env
from tests.support.runs import cli_on

SONNET = {"model": "claude-sonnet-4-6", "max_tokens": 64}


@pytest.fixture
def device(tmp_path: Path) -> Iterator[Path]:
    """A character device node like /dev/null (major 1, minor 3), made in tmp so that a bug
    cannot break the machine's own /dev/null. Needs root (mknod)."""
    (tmp_path / "dev").mkdir()
    path = tmp_path / "dev" / "null"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    yield path


def is_char_device(path: Path) -> bool:
    return stat.S_ISCHR(os.lstat(path).st_mode)


# -- the writer -----------------------------------------------------------------------------------
def test_a_symlink_keeps_pointing_at_its_target_which_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "out.jsonl"
    real.write_bytes(b"old\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to("real/out.jsonl")  # relative, as `ln -s` makes them
    chain = tmp_path / "chain.jsonl"
    chain.symlink_to(link)
    with atomic_file(chain) as out:
        out.write(b"new\n")
    assert os.readlink(link) == "real/out.jsonl" and os.readlink(chain) == str(link)
    assert real.read_bytes() == b"new\n"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["out.jsonl"]  # no temp
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "real" / "made.jsonl")
    with atomic_file(dangling) as out:
        out.write(b"made\n")
    assert dangling.is_symlink() and (tmp_path / "real" / "made.jsonl").read_bytes() == b"made\n"


def test_a_fifo_is_written_in_place_for_its_reader(tmp_path: Path) -> None:
    reader = FifoReader(tmp_path / "pipe")
    with atomic_file(reader.path) as out:
        out.write(b"a\n" * 100_000)  # more than a pipe holds: the reader drains it meanwhile
    assert reader.join() == b"a\n" * 100_000
    assert stat.S_ISFIFO(os.lstat(reader.path).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_a_device_is_written_in_place(device: Path, tmp_path: Path) -> None:
    link = device.parent / "to-null"
    link.symlink_to(device)
    for target in (device, link):
        with atomic_file(target) as out:
            out.write(b"discarded\n")
        assert is_char_device(device) and link.is_symlink()
    assert sorted(p.name for p in device.parent.iterdir()) == ["null", "to-null"]


def test_a_descriptor_of_this_process_is_appended_to(tmp_path: Path) -> None:
    """/dev/stdout and /proc/self/fd/N: what is behind the descriptor gets the bytes; a file
    the shell opened keeps what is already in it (`{ echo head; batchctl ... -o /dev/stdout; }`)."""
    log = tmp_path / "log.txt"
    with open(log, "wb") as f:
        f.write(b"head\n")
        f.flush()
        target = resolve_target(f"/dev/fd/{f.fileno()}")
        assert target.in_place and target.append
        with atomic_file(f"/proc/self/fd/{f.fileno()}") as out:
            out.write(b"body\n")
    assert log.read_bytes() == b"head\nbody\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.txt"]
    assert resolve_target("/dev/stdout").in_place


def test_unwritable_targets_are_usage_errors(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(UsageError, match="symbolic links"), atomic_file(loop):
        pass
    to_dir = tmp_path / "to-dir"
    to_dir.symlink_to(tmp_path)
    with pytest.raises(UsageError, match="directory"), atomic_file(to_dir):
        pass


# -- every command that writes --------------------------------------------------------------------
def test_results_into_a_fifo_a_symlink_and_dash(ended: Any, emulator: Any, cli: Any,
                                                tmp_path: Path) -> None:
    batch_id, body = ended.id, emulator.results_body(ended.id)
    reader = FifoReader(tmp_path / "fifo")
    into_fifo = cli("results", batch_id, "-o", str(reader.path))
    assert into_fifo.exit_code == 0, into_fifo.stderr
    assert reader.join() == body and stat.S_ISFIFO(os.lstat(reader.path).st_mode)
    assert into_fifo.stdout == ""
    real = tmp_path / "real.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(real.name)
    via_link = cli("results", batch_id, "-o", str(link))
    assert via_link.exit_code == 0, via_link.stderr
    assert link.is_symlink() and real.read_bytes() == body
    dash = cli("results", batch_id, "-o", "-")
    assert dash.exit_code == 0, dash.stderr
    assert dash.stdout_bytes == body and not (Path.cwd() / "-").exists()
    assert "results" in dash.stderr  # the summary, on stderr


def test_results_to_dev_stdout_in_a_real_process(ended: Any, emulator: Any,
                                                 state_dir: Path) -> None:
    batch_id, body = ended.id, emulator.results_body(ended.id)
    proc = warm.spawn(["--base-url", emulator.base_url, "results", batch_id, "-o", "/dev/stdout"],
                      child_env(state_dir), text=False)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert stdout == body
    assert b"/dev/stdout" in stderr  # the summary names where it went


def test_run_into_a_device_leaves_it_a_device(device: Path, cli: Any, tmp_path: Path) -> None:
    path = write_requests(tmp_path / "req.jsonl", 3, "d", "q {i}", **SONNET)
    result = cli("run", str(path), "-o", str(device), "--interval", "60")
    assert result.exit_code == 0, result.stderr
    assert is_char_device(device)
    assert result.stdout == ""
    assert [p.name for p in device.parent.iterdir()] == ["null"]  # no temp file beside it


def test_collect_writes_through_a_symlink_in_its_folder(ended: Any, emulator: Any, cli: Any,
                                                        tmp_path: Path, state_dir: Path) -> None:
    from batchctl.core.workflows.collect import file_name

    batch_id, body = ended.id, emulator.results_body(ended.id)
    folder = tmp_path / "collected"
    folder.mkdir()
    planned = folder / file_name(Store.open(state_dir).get_batch(batch_id), "jsonl")
    real = tmp_path / "kept.jsonl"
    planned.symlink_to(real)
    done = cli("collect", "--dir", str(folder))
    assert done.exit_code == 0, done.stderr
    assert planned.is_symlink() and real.read_bytes() == body


def test_retry_failed_needs_a_regular_file_unless_dry_run(
    tmp_path: Path, make_emulator: Any, clock: Any, state_dir: Path
) -> None:
    emu = make_emulator(expire_rate=1.0, seed=3)
    run = cli_on(emu, clock)
    path = write_requests(tmp_path / "req.jsonl", 3, "e", "q {i}", **SONNET)
    lines = path.read_bytes()
    with open(path, "ab") as f:
        f.write(b"\n")  # so the retry file (no blank lines) differs from its parent's
    submitted = run("submit", str(path))
    assert submitted.exit_code == 0, submitted.stderr
    parent = submitted.stdout.strip()
    clock.advance(3600)
    reader = FifoReader(tmp_path / "fifo")
    refused = run("retry-failed", parent, "-o", str(reader.path))
    assert refused.exit_code == 2
    assert "not a regular file" in refused.stderr and refused.stdout == ""
    dash = run("retry-failed", parent, "-o", "-")
    assert dash.exit_code == 2 and "--dry-run" in dash.stderr
    assert len(Store.open(state_dir).resolve(parent, base_url=emu.base_url)) == 1
    dry = run("retry-failed", parent, "--dry-run", "-o", "-", tty=True)
    assert dry.exit_code == 0, dry.stderr
    assert dry.stdout_bytes == lines  # raw lines even on a terminal: -o - asked for the file
    into_fifo = run("retry-failed", parent, "--dry-run", "-o", str(reader.path))
    assert into_fifo.exit_code == 0, into_fifo.stderr
    assert reader.join() == lines
    real = tmp_path / "retry.jsonl"
    link = tmp_path / "retry-link.jsonl"
    link.symlink_to(real)
    sent = run("retry-failed", parent, "-o", str(link))
    assert sent.exit_code == 0, sent.stderr
    assert link.is_symlink() and real.read_bytes() == lines
    (child,) = sent.stdout.split()
    assert Store.open(state_dir).get_batch(child)["request_file"] == str(real)
