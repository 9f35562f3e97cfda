#!/usr/bin/env python3
"""Writes samples/shared_doc.jsonl: 200 questions about one long document, the job prompt caching
is for (issue 20 item 7). Every request carries the same document as its system block, so they
share a prefix of about 5,000 tokens (characters / 4), over the minimum cacheable length of every
model (4,096 for Haiku 4.5, 1,024 for Sonnet 4.6); each asks its own question after it. The file
has no cache_control markers: `--cache auto` (or you) places them.

    python3 samples/make_shared_doc.py [OUT]      # default: samples/shared_doc.jsonl

The document is made up (a railway's operating handbook) and the output is the same on every run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MODEL = "claude-haiku-4-5"
MAX_TOKENS = 300
QUESTIONS = 200
STATIONS = ["Ashford Quay", "Bellmoor", "Cinder Hill", "Dunmore Junction", "Elderbrook",
            "Fennwick", "Greyhaven", "Holloway Cross", "Ivel Bridge", "Juniper Fold",
            "Kestrel Point", "Larkspur Terminus"]
TOPICS = ["timetable", "signalling", "tickets", "luggage", "accessibility", "staffing",
          "maintenance", "weather", "safety drills", "lost property"]


def station(i: int) -> str:
    name = STATIONS[i]
    platforms = 1 + (i * 7) % 4
    opened = 1871 + i * 6
    first = f"{5 + i % 3:02d}:{(i * 13) % 60:02d}"
    return (
        f"Station {i + 1}, {name}, opened in {opened} and has {platforms} platform"
        f"{'s' if platforms > 1 else ''}. The first train of the day leaves at {first}. "
        f"Its station master keeps the keys to the signal box in a red cabinet beside the "
        f"booking office, and the passing loop there holds trains of up to {6 + i % 5} carriages. "
        f"Water for the steam locomotives is taken at {name} only when the gauge at the previous "
        f"stop read below {40 + i * 3} percent. "
    )


def section(t: int, topic: str) -> str:
    rule = 3 + t * 2
    return (
        f"Chapter {t + 1}: {topic.capitalize()}. Rule {rule} says that staff record every "
        f"{topic} incident in the green ledger within {t + 2} hours, with the time, the station "
        f"and the names of the crew on duty. Rule {rule + 1} says that a {topic} question from a "
        f"passenger is answered at the booking office, never on the platform, and that the answer "
        f"is written down when it takes longer than {5 + t} minutes to give. Inspectors read the "
        f"ledgers on the {t + 1}{'st' if t == 0 else 'nd' if t == 1 else 'rd' if t == 2 else 'th'} "
        f"day of each month and sign each page they have read. "
    )


def document() -> str:
    parts = ["The Larkspur Valley Railway Operating Handbook. This handbook is the single source "
             "of the railway's rules; where a notice at a station disagrees with it, the handbook "
             "wins. Part one describes the line, station by station, from the coast inland. "]
    parts += [station(i) for i in range(len(STATIONS))]
    parts.append("Part two sets out the rules, chapter by chapter. ")
    parts += [section(t, topic) for t, topic in enumerate(TOPICS)]
    parts.append(
        "Part three, the history. The line was built by the Larkspur Valley Company between 1869 "
        "and 1937, one station at a time, each opened when the track reached it; the company's "
        "founders wanted a railway that the valley's farms could rely on in every season, and "
        "the rules in part two grew out of the lessons of its first winters, when snow closed "
        "the upper stations for weeks and the ledgers were the only record of what had been "
        "promised to whom. The railway has kept its steam locomotives and its green ledgers ever "
        "since, and it still trains every new member of staff on this handbook before their first "
        "shift. Visitors may read the handbook at any booking office; copies are not sold. "
        "Part four, the appendix, repeats the most important figures. ")
    parts += [station(i) for i in range(len(STATIONS))]  # the appendix, as handbooks do
    parts += [section(t, topic) for t, topic in enumerate(TOPICS)]
    return "".join(parts)


def questions() -> list[str]:
    asks = []
    for i, name in enumerate(STATIONS):
        asks += [f"When did {name} open, and how many platforms does it have?",
                 f"At what time does the first train leave {name}?",
                 f"How many carriages fit in the passing loop at {name}?",
                 f"When is water taken for the locomotives at {name}?",
                 f"Where are the keys to the signal box kept at {name}?",
                 f"Which station comes after {name}, going inland?" if i + 1 < len(STATIONS)
                 else f"Which station comes before {name}, going to the coast?"]
    asks += [f"How many years after {STATIONS[0]} did {name} open?" for name in STATIONS[1:]]
    for topic in TOPICS:
        asks += [f"Who signs the pages of the {topic} ledger, and when?",
                 f"Within how many hours must a {topic} incident be recorded?",
                 f"Where is a passenger's {topic} question answered?",
                 f"When must the answer to a {topic} question be written down?",
                 f"On which day of the month are the {topic} ledgers read?",
                 f"Which rule numbers cover {topic}, and what does each say?"]
    pairs = [(a, b) for a in STATIONS for b in STATIONS if a < b]
    for a, b in pairs:
        if len(asks) >= QUESTIONS:
            break
        asks.append(f"Which opened first, {a} or {b}, and by how many years?")
    return asks[:QUESTIONS]


def main(out: Path) -> None:
    doc = document()
    lines = []
    for n, question in enumerate(questions(), 1):
        params = {"model": MODEL, "max_tokens": MAX_TOKENS,
                  "system": [{"type": "text", "text": doc}],
                  "messages": [{"role": "user", "content": question}]}
        lines.append(json.dumps({"custom_id": f"q{n:03d}", "params": params}))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("shared_doc.jsonl"))
