"""Prompt-cache hits of samples/shared_doc.jsonl on the emulator: batchctl itself, as written,
with `--cache auto` (its warm-up) and with `--cache auto --no-warmup`.

    .venv/bin/python benchmarks/cache_hits.py [--file samples/shared_doc.jsonl] [--seed 0]

Runs `batchctl --emulator run FILE [--cache auto [--no-warmup]] -o OUT --summary-json SUMMARY`
three times, each on a fresh state directory (so a fresh emulator and cache), with the
emulator's batches ending 2 s after they are made (BATCHCTL_EMULATOR_PROCESSING_SECONDS), and
prints a markdown table from what each run wrote: the requests that read the prefix (from the
results), and the summary's `cache_hit_rate`, `est_cost_usd` and `saved_usd`. About half a
minute in all.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

JOBS = {
    "as written": (),
    "`--cache auto` (warm-up first)": ("--cache", "auto"),
    "`--cache auto --no-warmup`": ("--cache", "auto", "--no-warmup"),
}


def run_job(path: Path, flags: tuple[str, ...], seed: int) -> dict[str, Any]:
    """One `batchctl --emulator run` of ``path``: its summary's figures and the readers."""
    with tempfile.TemporaryDirectory() as home:
        out, summary = Path(home) / "out.jsonl", Path(home) / "summary.json"
        env = {**os.environ, "BATCHCTL_HOME": home, "BATCHCTL_EMULATOR_SEED": str(seed),
               "BATCHCTL_EMULATOR_PROCESSING_SECONDS": "2"}
        env.pop("ANTHROPIC_API_KEY", None)
        subprocess.run([sys.executable, "-m", "batchctl", "--emulator", "run", str(path), *flags,
                        "-o", str(out), "--summary-json", str(summary)],
                       env=env, check=True, stderr=subprocess.DEVNULL)
        figures = json.loads(summary.read_text())
        usage = [json.loads(x)["result"]["message"]["usage"]
                 for x in out.read_bytes().splitlines()]
    readers = sum(bool(u.get("cache_read_input_tokens")) for u in usage)
    return {**figures, "readers": readers, "requests": len(usage)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", default=str(ROOT / "samples" / "shared_doc.jsonl"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = Path(args.file)
    print(f"{path.name}, emulator seed {args.seed}, default cache_hit_rate 0.98\n")
    print("| job | requests that read the document | token-weighted hit rate | cost at batch "
          "prices | saved |")
    print("|---|---|---|---|---|")
    for name, flags in JOBS.items():
        f = run_job(path, flags, args.seed)
        rate = "-" if f["cache_hit_rate"] is None else f"{f['cache_hit_rate']:.1%}"
        print(f"| {name} | {f['readers']} of {f['requests']} | {rate} | "
              f"${f['est_cost_usd']:.4f} | {money(f['saved_usd'])} |")


def money(usd: float) -> str:
    return f"-${-usd:.4f}" if usd < 0 else f"${usd:.4f}"


if __name__ == "__main__":
    main()
