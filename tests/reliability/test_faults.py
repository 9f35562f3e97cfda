"""Under injected faults on every endpoint — 30% of answers 429/500/529, 30% of replies lost
after the work was done — batchctl still finishes, and never makes a batch twice.

batchctl runs in-process on a fake clock shared with the emulator (its own waits take no time);
the SDK's retries sleep for real, briefly. Batches are counted through a fault-free server over
the same emulator data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.emulators import size
from tests.support.files import padded, write_requests
from tests.support.runs import on

pytestmark = pytest.mark.slow  # minutes of subprocesses: -m "not slow" leaves it out

FAULTS = {"fault_rate": 0.3, "lost_reply_rate": 0.3}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_submit_under_faults_makes_exactly_one_batch_per_submit(
    make_emulator: Any, clock: Any, tmp_path: Path, seed: int
) -> None:
    emu = make_emulator(processing_seconds=0, seed=seed, **FAULTS)
    # Different sizes, so each batch can be told apart by its request count.
    files = [write_requests(tmp_path / f"f{i}.jsonl", 3 + i, f"s{seed}f{i}-", padded(40), max_tokens=64)
             for i in range(4)]
    ids = []
    for path in files:
        result = on(emu, clock, "submit", str(path))
        assert result.exit_code == 0, result.stderr
        ids.append(result.stdout.strip())
    remote = emu.batches()
    assert sorted(b["id"] for b in remote) == sorted(ids)
    by_id = {b["id"]: b for b in remote}
    assert [size(by_id[i]) for i in ids] == [3, 4, 5, 6]
    # Submitting the same files again answers the batches already made.
    for path, batch_id in zip(files, ids, strict=True):
        again = on(emu, clock, "submit", str(path))
        assert again.exit_code == 0, again.stderr
        assert again.stdout.strip() == batch_id
    assert len(emu.batches()) == len(files)


# Seeds 0-29 all complete (checked when this was written; with the SDK retrying 3 times instead
# of 8, seeds 0, 1, 5, 10, 11, 19 and 24 exited 6). Two run here, one of those among them, chosen
# among the quicker ones: lost replies make the SDK back off in real time.
@pytest.mark.parametrize("seed", [4, 24])
def test_run_under_faults_completes_with_one_batch_and_every_result(
    make_emulator: Any, clock: Any, tmp_path: Path, seed: int
) -> None:
    emu = make_emulator(processing_seconds=30, seed=seed, **FAULTS)
    path = write_requests(tmp_path / "f.jsonl", 20, f"s{seed}-", padded(40), max_tokens=64)
    out = tmp_path / "out.jsonl"
    result = on(emu, clock, "run", str(path), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    (batch,) = emu.batches()
    assert size(batch) == 20 and batch["processing_status"] == "ended"
    assert out.read_bytes() == emu.results_body(batch["id"], clean=True)
    assert out.read_bytes().count(b"\n") == 20


class Switch:
    """One URL, two emulator apps over the same data: clean, or with faults (tests flip it)."""

    def __init__(self, clean: Any, faulty: Any) -> None:
        self.clean, self.faulty = clean, faulty
        self.app = clean

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


def switched_emulator(tmp_path: Path, clock: Any, **faults: Any) -> tuple[Switch, Any]:
    from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

    data = tmp_path / "emulator"
    clean = make_app(data, EmulatorConfig(processing_seconds=0), clock=clock.time)
    faulty = make_app(data, EmulatorConfig(processing_seconds=0, **faults), clock=clock.time)
    switch = Switch(clean, faulty)
    return switch, EmulatorServer(switch).start()


def outputs(base_url: str, clock: Any, job: str, out: Path) -> dict[str, bytes]:
    """Every way of getting a job's results: stdout, -o JSONL, -o CSV, --order input."""
    out.mkdir()
    got = {}
    stdout = on(base_url, clock, "results", job)
    assert stdout.exit_code == 0, stdout.stderr
    got["stdout"] = stdout.stdout_bytes
    notes = [stdout.stderr]
    for name, args in {"jsonl": ["-o", str(out / "r.jsonl")],
                       "csv": ["-o", str(out / "r.csv")],
                       "input": ["--order", "input", "-o", str(out / "i.jsonl")]}.items():
        result = on(base_url, clock, "results", job, *args)
        assert result.exit_code == 0, (name, result.stderr)
        notes.append(result.stderr)
        got[name] = Path(args[-1]).read_bytes()
        assert sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp")) == []
    got["stderr"] = "".join(notes).encode()
    return got


@pytest.mark.parametrize("seed", [1, 2])
def test_dropped_result_streams_give_complete_identical_outputs(
    clock: Any, tmp_path: Path, seed: int
) -> None:
    switch, server = switched_emulator(tmp_path, clock, drop_rate=0.3, seed=seed)
    try:
        path = write_requests(tmp_path / "req.jsonl", 600, f"d{seed}-", padded(300), max_tokens=64)
        submitted = on(server.base_url, clock, "submit", "--json", "--max-requests", "200",
                       str(path))
        assert submitted.exit_code == 0, submitted.stderr
        job = {line.split('"job_id":"')[1].split('"')[0]
               for line in submitted.stdout.splitlines()}.pop()
        clean = outputs(server.base_url, clock, job, tmp_path / "clean")
        switch.app = switch.faulty
        dropped = outputs(server.base_url, clock, job, tmp_path / "dropped")
    finally:
        server.stop()
    assert clean["stdout"] == clean["jsonl"]
    assert clean["stdout"].count(b"\n") == 600
    assert clean["csv"].count(b"\n") >= 601
    assert b"was cut" not in clean.pop("stderr")
    assert dropped.pop("stderr").count(b"was cut") >= 2  # the faults did happen
    for name in clean:
        assert dropped[name] == clean[name], name
