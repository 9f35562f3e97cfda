"""How fast the emulator takes a large create and serves results, on loopback.

    .venv/bin/python benchmarks/emulator_speed.py [--requests 100000] [--mb 256] [--reps 3]

Builds a create body of ``--requests`` requests of about ``--mb`` megabytes in all (in memory),
starts ``batchctl emulator --processing-seconds 0`` on a free port in its own process, and
measures, ``--reps`` times each:

* create: POST of the whole body with a plain HTTP client until the batch comes back;
* first results download: includes writing the shuffled results file, once per batch;
* results download: the same body again, read in 1 MiB chunks with ``http.client``.

For reference it also reports a plain disk write of the body (the "disk speed" of this
machine) and the emulator process's peak RSS (Linux). Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

_WORDS = "the batch emulator takes large bodies at disk speed and serves results quickly".split()


def build_body(count: int, total_mb: float) -> bytes:
    per_request = max(16, int(total_mb * 1024 * 1024 / count) - 150)
    text = (" ".join(_WORDS) + " ") * (per_request // 80 + 1)
    requests = [
        {
            "custom_id": f"row-{i}",
            "params": {
                "model": "claude-sonnet-4-6",
                "max_tokens": 256,
                "messages": [{"role": "user", "content": f"{i} {text[:per_request]}"}],
            },
        }
        for i in range(count)
    ]
    return orjson.dumps({"requests": requests})


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, int, float]:
    """One request on a fresh connection; returns (status, bytes read, seconds)."""
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    headers = {"x-api-key": "k", "content-type": "application/json", "anthropic-version": "2023-06-01"}
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    size = 0
    while chunk := response.read(1 << 20):
        size += len(chunk)
        last = chunk
    elapsed = time.perf_counter() - start
    connection.close()
    if response.status != 200:
        raise SystemExit(f"{method} {path}: HTTP {response.status}: {last[:300]!r}")
    request.last = last  # type: ignore[attr-defined]
    return response.status, size, elapsed


def _peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its live children (Linux; 0 elsewhere)."""
    total = 0.0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for each in [str(pid), *children]:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--mb", type=float, default=256)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    body = build_body(args.requests, args.mb)
    mb = len(body) / 1e6
    print(f"body: {args.requests} requests, {mb:.1f} MB")
    with tempfile.TemporaryDirectory(prefix="emulator-speed-") as tmp:
        disk = Path(tmp) / "disk-write"
        start = time.perf_counter()
        with open(disk, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        print(f"disk write + fsync of the body: {time.perf_counter() - start:.2f} s")
        disk.unlink()

        command = [sys.executable, "-m", "batchctl", "--state-dir", tmp, "emulator", "--port", "0",
                   "--processing-seconds", "0", "--data", str(Path(tmp) / "data"), "--json"]  # fmt: skip
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            port = int(orjson.loads(server.stdout.readline())["base_url"].rsplit(":", 1)[1])  # type: ignore[union-attr]
            creates, firsts, downloads, cpus = [], [], [], []
            for _ in range(args.reps):
                cpu = _cpu_seconds(server.pid)
                _, _, seconds = request(port, "POST", "/v1/messages/batches", body)
                cpus.append(_cpu_seconds(server.pid) - cpu)
                creates.append(seconds)
                batch_id = orjson.loads(request.last)["id"]  # type: ignore[attr-defined]
                path = f"/v1/messages/batches/{batch_id}/results"
                _, size, seconds = request(port, "GET", path)
                firsts.append((size, seconds))
                for _ in range(3):
                    downloads.append((size, request(port, "GET", path)[2]))
            peak = _peak_rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGTERM)  # SIGINT is ignored when started in the background
            try:
                server.wait(timeout=120)
            except subprocess.TimeoutExpired:  # a loaded machine: the figures still stand
                server.kill()
                server.wait()
        create = statistics.median(creates)
        runs = ", ".join(f"{s:.2f}" for s in creates)
        print(f"create: median {create:.2f} s = {mb / create:.0f} MB/s, min {min(creates):.2f} s "
              f"(runs: {runs})")
        cpu_runs = ", ".join(f"{s:.2f}" for s in cpus)
        print(f"create CPU time of the emulator (and any helper process): median "
              f"{statistics.median(cpus):.2f} s (runs: {cpu_runs}); load average {os.getloadavg()[0]:.1f}")
        size = firsts[0][0]
        first_runs = ", ".join(f"{s:.2f}" for _, s in firsts)
        print(f"results file: {size / 1e6:.1f} MB; first download (writes the file): "
              f"min {min(s for _, s in firsts):.2f} s (runs: {first_runs})")
        rates = [s / t / 1e6 for s, t in downloads]
        print(f"results download: median {statistics.median(rates):.0f} MB/s over {len(rates)} downloads")
        if peak is not None:
            print(f"emulator process peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
