"""The API's limits, measured on the emulator: calls a minute of `wait`, and a job fed through
the processing queue.

    .venv/bin/python benchmarks/queue.py [--seconds 30] [--requests 1000000] [--queue 200000]

1. **Calls a minute of `wait`** over 1, 10 and 100 batches that do not end: `batchctl wait JOB
   --timeout S` against `batchctl emulator --verbose`, whose log has a line per HTTP call; the
   calls made during the wait, per minute. Beside it, what one retrieve per batch every 5 s (the
   SDK's own example loop at batchctl's first interval) would make: 12 a minute per batch.
2. **A job larger than the queue**: a file of ``--requests`` short requests (parts of 100,000)
   through an emulator with ``--queue-limit`` and fast processing (5 s a batch): `batchctl
   submit` (which sends what fits and leaves the rest pending) then `batchctl wait JOB`
   (which sends the rest as batches end), against a hand-written SDK loop: create each part,
   and on the queue-full 429 sleep for its retry-after and try again; then poll every batch
   until all have ended. Both poll every second. Wall time from the first create to the last
   batch ended, and the calls each side made.

Writes a markdown table to ``OUT/queue.md`` (default ``benchmarks/out``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
_SCRIPT = Path(PY).parent / "batchctl"
BATCHCTL = [str(_SCRIPT)] if _SCRIPT.exists() else [PY, "-m", "batchctl"]
KEY = "sk-ant-bench-0000-not-a-real-key"
PER_BATCH = 100_000
CALL = re.compile(r'"(GET|POST|DELETE) /v1/messages/batches')

sys.path.insert(0, str(HERE))
from generate import generate  # noqa: E402


class Emulator:
    """`batchctl emulator --verbose` in its own process; counts the HTTP calls it logs."""

    def __init__(self, data: Path, *args: str) -> None:
        self.log = data.with_suffix(".log")
        self._log = open(self.log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*BATCHCTL, "--state-dir", str(data / "state"), "emulator", "--port", "0", "--verbose",
             "--data", str(data / "emu"), *args],
            stdout=subprocess.PIPE, stderr=self._log, text=True, env=_env(data),
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip().split("=", 1)[1]
        self.proc.stdout.readline()

    def calls(self) -> int:
        self._log.flush()
        return len(CALL.findall(self.log.read_text()))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self._log.close()


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "BATCHCTL_"))}
    env.update({"BATCHCTL_HOME": str(home / "state"), "ANTHROPIC_API_KEY": KEY})
    return env


def batchctl(emu: Emulator, home: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run([*BATCHCTL, "--base-url", emu.base_url, *args], env=_env(home),
                          capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"batchctl {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done.stdout + done.stderr


def job_of(stderr: str) -> str:
    return re.search(r"\bjob_[0-9a-f]+", stderr).group(0)  # type: ignore[union-attr]


def wait_rate(work: Path, batches: int, seconds: float) -> tuple[int, float]:
    """Calls made by `batchctl wait JOB` over ``batches`` batches that do not end, per minute."""
    home = work / f"wait-{batches}"
    home.mkdir()
    emu = Emulator(home, "--processing-seconds", "86000")
    try:
        requests = home / "r.jsonl"
        generate(requests, count=batches, text_bytes=40, seed=3)
        job = job_of(batchctl(emu, home, "submit", str(requests), "--max-requests", "1",
                              "--json"))
        before = emu.calls()
        start = time.monotonic()
        batchctl(emu, home, "wait", job, "--timeout", str(seconds), check=False)
        took = time.monotonic() - start
        calls = emu.calls() - before
    finally:
        emu.stop()
    return calls, calls / took * 60


def fed_by_batchctl(work: Path, requests: Path, queue: int, per: int) -> tuple[float, int]:
    home = work / "fed-batchctl"
    home.mkdir()
    emu = Emulator(home, "--processing-seconds", "5", "--queue-limit", str(queue))
    try:
        start = time.monotonic()
        job = job_of(batchctl(emu, home, "submit", str(requests), "--json",
                              "--max-requests", str(per)))
        batchctl(emu, home, "wait", job, "--interval", "1")
        took = time.monotonic() - start
        calls = emu.calls()
    finally:
        emu.stop()
    return took, calls


def fed_by_hand(work: Path, requests: Path, queue: int, per: int) -> tuple[float, int]:
    home = work / "fed-sdk"
    home.mkdir()
    emu = Emulator(home, "--processing-seconds", "5", "--queue-limit", str(queue))
    try:
        start = time.monotonic()
        subprocess.run([PY, str(HERE / "queue_by_hand.py"), emu.base_url, str(requests),
                        str(per)], env={**_env(home), "ANTHROPIC_BASE_URL": emu.base_url},
                       check=True)
        took = time.monotonic() - start
        calls = emu.calls()
    finally:
        emu.stop()
    return took, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each wait")
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--queue", type=int, default=200_000)
    parser.add_argument("--per-batch", type=int, default=PER_BATCH)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="batchctl-queue-", dir=HERE / ".work"
                                 if (HERE / ".work").is_dir() else None))
    rows = []
    try:
        for n in (1, 10, 100):
            calls, rpm = wait_rate(work, n, args.seconds)
            rows.append(f"| `wait` over {n} batch{'es' * (n > 1)} | {rpm:.0f} calls/min "
                        f"({calls} in {args.seconds:g} s) | {12 * n} calls/min (a retrieve "
                        "per batch every 5 s) |")
            print(rows[-1], flush=True)
        requests = work / "million.jsonl"
        generate(requests, count=args.requests, text_bytes=60, seed=5)
        ours = fed_by_batchctl(work, requests, args.queue, args.per_batch)
        theirs = fed_by_hand(work, requests, args.queue, args.per_batch)
        rows.append(f"| {args.requests:,} requests through a {args.queue:,} queue | "
                    f"{ours[0]:.1f} s, {ours[1]} calls (`submit` + `wait JOB`) | "
                    f"{theirs[0]:.1f} s, {theirs[1]} calls (SDK loop by hand) |")
        print(rows[-1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = "\n".join([
        f"Queue and request economy, {when}, {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; emulator over HTTP.",
        "", "| | batchctl | other side |", "|---|---:|---:|", *rows, "",
    ])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "queue.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
