"""A job larger than the processing queue, fed by hand with the SDK (benchmarks/queue.py).

    python benchmarks/queue_by_hand.py BASE_URL FILE PER_BATCH

What a careful script would do: read the file in parts of PER_BATCH requests, create each with
retries off (a retried create can bill twice), and on the queue-full 429 sleep for its
retry-after (1 s without one) and try again; then poll every batch each second until all have
ended.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import anthropic
import orjson


def parts(path: str, size: int) -> Iterator[list[dict]]:
    chunk = []
    with open(path, "rb") as f:
        for line in f:
            chunk.append(orjson.loads(line))
            if len(chunk) == size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def main() -> None:
    base_url, path, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    client = anthropic.Anthropic(base_url=base_url, max_retries=0)
    ids = []
    for requests in parts(path, size):
        while True:
            try:
                ids.append(client.messages.batches.create(requests=requests).id)
                break
            except anthropic.RateLimitError as exc:
                time.sleep(float(exc.response.headers.get("retry-after", "1")))
    while True:
        statuses = [client.messages.batches.retrieve(i).processing_status for i in ids]
        if all(s == "ended" for s in statuses):
            return
        time.sleep(1)


if __name__ == "__main__":
    main()
