"""Deterministic request files for the benchmarks.

    python benchmarks/generate.py OUT.jsonl [--count 100000] [--text-bytes 1200] [--seed 7]
                                            [--shared-bytes 0]

Every line is a native request (``{"custom_id", "params"}``) with about ``--text-bytes`` of
English-like text in its user message; a tenth carry a system prompt, a tenth give the content as
a list of text blocks, a twentieth are a short multi-turn exchange, and the models and max_tokens
vary. With ``--shared-bytes N``, every request's last user message starts with the same document
of about N bytes (one text block before its own text), as a job of questions about one document
does. The same arguments always produce the same bytes.
"""

from __future__ import annotations

import argparse
import os
import random
from pathlib import Path

import orjson

MODELS = ("claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-6")
_SYLLABLES = (
    "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo fu ga ge gi go gu la le li lo lu "
    "ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu "
    "va ve vi vo vu za ze zi zo zu an en in on un ar er ir or ur st th ch sh"
).split()


def _vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))))
    return sorted(words)


def _text(rng: random.Random, vocab: list[str], target: int) -> str:
    parts: list[str] = []
    length = 0
    while length < target:
        sentence = rng.choices(vocab, k=rng.randint(6, 18))
        sentence[0] = sentence[0].capitalize()
        s = " ".join(sentence) + rng.choice((". ", "? ", ", and ", "; "))
        parts.append(s)
        length += len(s)
    return "".join(parts)[:target].rstrip()


def request(i: int, rng: random.Random, vocab: list[str], text_bytes: int, shared: str = "") -> dict:
    kind = i % 20
    text = _text(rng, vocab, text_bytes)
    params: dict = {
        "model": MODELS[i % len(MODELS)],
        "max_tokens": (256, 512, 1024)[i % 3],
    }
    if kind in (1, 11):
        params["system"] = "You are a careful assistant. Answer in one short paragraph."
    if kind in (2, 12):
        params["messages"] = [{"role": "user", "content": [{"type": "text", "text": text}]}]
    elif kind == 3:
        params["messages"] = [
            {"role": "user", "content": "Summarise what follows when I send it."},
            {"role": "assistant", "content": "Send it and I will summarise it."},
            {"role": "user", "content": text},
        ]
    else:
        params["messages"] = [{"role": "user", "content": text}]
    if shared:
        last = params["messages"][-1]
        own = last["content"] if isinstance(last["content"], list) else [
            {"type": "text", "text": last["content"]}]
        last["content"] = [{"type": "text", "text": shared}, *own]
    return {"custom_id": f"req-{i:07d}", "params": params}


def generate(path: Path, count: int, text_bytes: int = 1200, seed: int = 7,
             shared_bytes: int = 0) -> int:
    """Write ``count`` requests to ``path`` (atomically); returns the file's size in bytes."""
    rng = random.Random(seed)
    vocab = _vocabulary(rng)
    shared = _text(random.Random(seed + 1), vocab, shared_bytes) if shared_bytes else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb", buffering=1 << 20) as f:
        for i in range(1, count + 1):
            f.write(orjson.dumps(request(i, rng, vocab, text_bytes, shared)) + b"\n")
    tmp.replace(path)
    return path.stat().st_size


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--count", type=int, default=100_000)
    p.add_argument("--text-bytes", type=int, default=1200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--shared-bytes", type=int, default=0)
    a = p.parse_args()
    size = generate(a.out, a.count, a.text_bytes, a.seed, a.shared_bytes)
    print(f"{a.out}: {a.count:,} requests, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
