"""Time and memory of planning prompt caching over a request file (core/caching/).

    .venv/bin/python benchmarks/caching.py [--count 100000] [--shared-bytes 20000]

Writes two files with benchmarks/generate.py into benchmarks/.work/caching/: the usual mix
(``--shared-bytes 0``), and the same with one shared document of about ``--shared-bytes`` bytes
in front of every question. For each, in a fresh process: reads the file line by line (orjson),
feeds every request to a ``Planner``, finishes it, prices it (``report``) and places the plan's
markers in every body (``place``, each body encoded with orjson as it would be sent, then
dropped). Prints a markdown table of wall and CPU seconds per step and the peak RSS, beside a
process that only reads and parses the file (the floor).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work" / "caching"
sys.path.insert(0, str(ROOT))


def measure(path: str, plan: bool) -> dict[str, float]:
    """In this process: the steps' wall and CPU seconds, and the peak RSS in MB."""
    import orjson

    from batchctl.core.caching.place import CachePlan, place
    from batchctl.core.caching.planner import Planner
    from batchctl.core.caching.report import report

    out: dict[str, float] = {}
    clock = (time.perf_counter(), time.process_time())

    def lap(name: str) -> None:
        nonlocal clock
        now = (time.perf_counter(), time.process_time())
        out[f"{name}_wall"], out[f"{name}_cpu"] = now[0] - clock[0], now[1] - clock[1]
        clock = now

    planner = Planner()
    with open(path, "rb") as f:
        for line_no, line in enumerate(f, 1):
            params = orjson.loads(line)["params"]
            if plan:
                planner.add(params, line_no)
    lap("read_and_add")
    if plan:
        grouping = planner.finish()
        lap("finish")
        cache = report(grouping).as_dict()
        lap("report")
        placer = CachePlan.from_grouping(grouping)
        marked = 0
        with open(path, "rb") as f:
            for line in f:
                placed = place(orjson.loads(line)["params"], placer)
                marked += placed.at is not None
                orjson.dumps(placed.body)
        lap("place")
        out.update(groups=len(cache["groups"]), marked=marked,
                   saving=cache["saving_best"] or 0.0, written=cache["cost_as_written"] or 0.0)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--count", type=int, default=100_000)
    p.add_argument("--shared-bytes", type=int, default=20_000)
    p.add_argument("--measure", nargs=2, metavar=("FILE", "PLAN"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.measure:
        print(json.dumps(measure(a.measure[0], a.measure[1] == "1")))
        return
    from benchmarks.generate import generate

    WORK.mkdir(parents=True, exist_ok=True)
    print("| file | MB | step | wall s | CPU s | peak RSS MB |\n|---|---|---|---|---|---|")
    for shared in (0, a.shared_bytes):
        path = WORK / f"{a.count}-shared{shared}.jsonl"
        if not path.exists():
            generate(path, a.count, shared_bytes=shared)
        mb = path.stat().st_size / 1e6
        for plan in (False, True):
            run = subprocess.run([sys.executable, __file__, "--measure", str(path), str(int(plan))],
                                 check=True, capture_output=True, text=True)
            got = json.loads(run.stdout)
            steps = ("read_and_add", "finish", "report", "place") if plan else ("read_and_add",)
            for step in steps:
                label = step if plan else "read only (floor)"
                print(f"| {path.name} | {mb:.0f} | {label} | {got[f'{step}_wall']:.2f} | "
                      f"{got[f'{step}_cpu']:.2f} | {got['rss_mb']:.0f} |")
            if plan:
                print(f"| {path.name} | | groups {got['groups']:.0f}, marked {got['marked']:.0f}, "
                      f"as written ${got['written']:.2f}, saving at best ${got['saving']:.2f} | | | |")


if __name__ == "__main__":
    main()
