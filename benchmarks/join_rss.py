"""Peak memory of ``results --join`` as the data grows: it should stay flat.

    .venv/bin/python benchmarks/join_rss.py [--rows 100000 1000000]

For each size: a CSV of N rows (sku, name) is written into benchmarks/.work/join/, turned into a
request file by ``batchctl prepare`` (which remembers the CSV), submitted to ``batchctl
emulator`` running in its own process (processing 0 s; so the emulator's memory is not
batchctl's), its results fetched once to warm the emulator's results files, and joined back
twice in fresh processes, each under GNU time (%M, peak RSS): ``results JOB --join -o out.csv``
(ids from prepare's record) and ``results JOB --join DATA --id-column sku -o out.csv``; then
``run requests.jsonl --join DATA --id-column sku -o out.csv``, which finds that job by its
content (nothing sent) and joins. Prints a markdown table of rows, wall seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work" / "join"
BATCHCTL = [sys.executable, "-m", "batchctl"]


def measured(cmd: list[str], env: dict[str, str], rss: Path, stdout: Path | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    with open(stdout or os.devnull, "wb") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(rss), *cmd], env=env, check=True,
                       stdout=out)
    return time.perf_counter() - start, int(rss.read_text().split()[-1])


def run(rows: int) -> list[tuple[str, int, float, int]]:
    folder = WORK / str(rows)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    server = subprocess.Popen(
        [*BATCHCTL, "emulator", "--port", "0", "--processing-seconds", "0", "--json",
         "--data", str(folder / "emulator")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        return _run(rows, folder, server)
    finally:
        server.terminate()
        server.wait()


def _run(rows: int, folder: Path, server: subprocess.Popen[bytes]) -> list[tuple[str, int, float, int]]:
    assert server.stdout is not None
    base_url = json.loads(server.stdout.readline())["base_url"]
    env = {**os.environ, "BATCHCTL_HOME": str(folder / "state"), "ANTHROPIC_API_KEY": "emulator-key",
           "ANTHROPIC_BASE_URL": base_url}
    data = folder / "products.csv"
    with open(data, "w", newline="") as f:
        f.write("sku,name\r\n")
        f.writelines(f"SKU{i:07d},product number {i} in the catalogue\r\n" for i in range(rows))
    requests = folder / "requests.jsonl"
    rss = folder / "rss.txt"
    out: list[tuple[str, int, float, int]] = []
    secs, peak = measured([*BATCHCTL, "prepare", str(data), "--column", "name", "--id-column", "sku",
                           "--max-tokens", "64"], env, rss, stdout=requests)
    out.append(("prepare", rows, secs, peak))
    submitted = subprocess.run([*BATCHCTL, "submit", str(requests), "--json"], env=env, check=True,
                               capture_output=True, text=True)
    job = submitted.stdout.split('"job_id":"', 1)[1].split('"', 1)[0]
    subprocess.run([*BATCHCTL, "results", job, "-o", str(folder / "warm.jsonl")], env=env, check=True,
                   capture_output=True)
    for label, extra in (("results --join (prepared)", []),
                         ("results --join DATA --id-column", [str(data), "--id-column", "sku"])):
        cmd = [*BATCHCTL, "results", job, "--join", *extra, "-o", str(folder / "out.csv")]
        secs, peak = measured(cmd, env, rss)
        out.append((label, rows, secs, peak))
    # the same join by run: it finds the job submitted above by its content and joins at once
    cmd = [*BATCHCTL, "run", str(requests), "--join", str(data), "--id-column", "sku", "-o",
           str(folder / "out.csv")]
    secs, peak = measured(cmd, env, rss)
    out.append(("run --join DATA --id-column (job found)", rows, secs, peak))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print("| step | rows | wall s | peak RSS MiB |\n|---|---:|---:|---:|")
    for rows in args.rows:
        for label, n, secs, peak in run(rows):
            print(f"| {label} | {n:,} | {secs:.1f} | {peak / 1024:.0f} |", flush=True)


if __name__ == "__main__":
    main()
