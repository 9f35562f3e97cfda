"""The SDK's own idioms, as the benchmarks compare batchctl with them.

Each mode is what the SDK's README and examples show, written plainly, run in its own process
(so its peak memory is its own). The client reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL from
the environment, and keeps the SDK's default retries.

    python benchmarks/sdk_idioms.py submit FILE            # prints the batch id
    python benchmarks/sdk_idioms.py results-jsonl ID OUT
    python benchmarks/sdk_idioms.py results-csv ID OUT
    python benchmarks/sdk_idioms.py status ID              # retrieve one batch, print it
"""

from __future__ import annotations

import csv
import json
import sys

import anthropic

# The columns of batchctl's CSV (issue 5), in its order.
CSV_COLUMNS = [
    "custom_id",
    "result_type",
    "model",
    "stop_reason",
    "text",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "error_type",
    "error_message",
    "tool_use",
]


def submit(path: str) -> None:
    client = anthropic.Anthropic()
    with open(path, encoding="utf-8") as f:
        requests = [json.loads(line) for line in f if line.strip()]
    batch = client.messages.batches.create(requests=requests)
    print(batch.id)


def results_jsonl(batch_id: str, out: str) -> None:
    client = anthropic.Anthropic()
    with open(out, "w", encoding="utf-8") as f:
        for r in client.messages.batches.results(batch_id):
            f.write(r.model_dump_json() + "\n")


def _row(r: object) -> list[object]:
    result = r.result  # type: ignore[attr-defined]
    row: list[object] = [r.custom_id, result.type] + [""] * 10  # type: ignore[attr-defined]
    if result.type == "succeeded":
        m = result.message
        u = m.usage
        row[2:9] = [
            m.model,
            m.stop_reason or "",
            "".join(b.text for b in m.content if b.type == "text"),
            u.input_tokens,
            u.output_tokens,
            u.cache_creation_input_tokens or 0,
            u.cache_read_input_tokens or 0,
        ]
        uses = [b.input for b in m.content if b.type == "tool_use"]
        if uses:
            row[11] = json.dumps(uses[0] if len(uses) == 1 else uses, separators=(",", ":"),
                                 ensure_ascii=False)
    elif result.type == "errored":
        err = result.error.error  # the envelope's inner error
        row[9:11] = [err.type, err.message]
    return row


def results_csv(batch_id: str, out: str) -> None:
    client = anthropic.Anthropic()
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(CSV_COLUMNS)
        for r in client.messages.batches.results(batch_id):
            w.writerow(_row(r))


def status(batch_id: str) -> None:
    client = anthropic.Anthropic()
    batch = client.messages.batches.retrieve(batch_id)
    print(batch.id, batch.processing_status, batch.request_counts.succeeded, sep="\t")


def main(argv: list[str]) -> None:
    modes = {
        "submit": submit,
        "results-jsonl": results_jsonl,
        "results-csv": results_csv,
        "status": status,
    }
    if not argv or argv[0] not in modes:
        sys.exit(f"usage: sdk_idioms.py {{{','.join(modes)}}} ARGS...")
    modes[argv[0]](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
