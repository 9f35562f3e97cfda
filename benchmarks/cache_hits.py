"""Prompt-cache hits of samples/shared_doc.jsonl on the emulator, with and without a warm-up.

    .venv/bin/python benchmarks/cache_hits.py [--file samples/shared_doc.jsonl] [--seed 0]

Places the markers batchctl's planner places (core/caching: one 1-hour marker at the end of the
shared prefix, what `--cache auto` is to send), then runs three jobs on a fresh emulator each
(over HTTP, on a clock this script moves, so nothing waits): the file as written (no markers);
the marked file as one batch; a warm-up batch of the first request, then the rest once it has
ended. Prints a markdown table: requests that read the prefix, the token-weighted hit rate, and
the cost at batch prices with what caching saved (core/caching/realised.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now


def marked(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bodies with the planner's markers placed."""
    from batchctl.core.caching.place import CachePlan, place
    from batchctl.core.caching.planner import Planner

    planner = Planner()
    for n, line in enumerate(lines, 1):
        planner.add(line["params"], n)
    plan = CachePlan.from_grouping(planner.finish())
    return [{**line, "params": place(line["params"], plan).body} for line in lines]


def run_job(batches: list[list[dict[str, Any]]], seed: int) -> dict[str, Any]:
    """Each list of requests a batch, sent once the one before has ended; the results' figures."""
    import anthropic

    from batchctl.core.caching.realised import Savings
    from batchctl.emulator import EmulatorConfig, EmulatorServer, make_app

    clock = Clock()
    config = EmulatorConfig(processing_seconds=60, seed=seed)
    with tempfile.TemporaryDirectory() as data:
        server = EmulatorServer(make_app(Path(data), config, clock=clock.time)).start()
        savings = Savings()
        readers = total = 0
        try:
            with anthropic.Anthropic(api_key="emulator-key", base_url=server.base_url,
                                     max_retries=0) as client:
                for requests in batches:
                    batch = client.messages.batches.create(requests=requests)
                    clock.now += 61
                    for result in client.messages.batches.results(batch.id):
                        usage = result.result.message.usage.model_dump()
                        savings.add(result.result.message.model, usage, group=0)
                        readers += bool(usage["cache_read_input_tokens"])
                        total += 1
                    clock.now += 5
        finally:
            server.stop()
    figures = savings.as_dict()
    return {"requests": total, "readers": readers, **{k: figures[k] for k in (
        "cache_hit_rate", "est_cost_usd", "cost_without_cache_usd", "saved_usd")}}


def main() -> None:
    import orjson

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", default=str(ROOT / "samples" / "shared_doc.jsonl"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    lines = [orjson.loads(x) for x in Path(args.file).read_bytes().splitlines() if x.strip()]
    placed = marked(lines)
    jobs = {
        "as written (no markers)": [lines],
        "marked, one batch (no warm-up)": [placed],
        "marked, a warm-up batch of 1, then the rest": [placed[:1], placed[1:]],
    }
    print(f"{Path(args.file).name}: {len(lines)} requests, emulator seed {args.seed}, "
          "default cache_hit_rate 0.98\n")
    print("| job | requests reading the prefix | token-weighted hit rate | cost (batch) | saved |")
    print("|---|---|---|---|---|")
    for name, batches in jobs.items():
        f = run_job(batches, args.seed)
        rate = "-" if f["cache_hit_rate"] is None else f"{f['cache_hit_rate']:.1%}"
        print(f"| {name} | {f['readers']} of {f['requests']} | {rate} | "
              f"${f['est_cost_usd']:.4f} | ${f['saved_usd']:.4f} |")


if __name__ == "__main__":
    main()
