"""The problems of a request file, as a person reads them: each once per message.

A file often has one mistake many times (a key the API version refuses, on every line). Each
distinct message is one report line, anchored at the first line that has it, with how many lines
have it and which (runs of lines as ranges; the first few runs, all with ``max_groups=None``):

    big.jsonl:3: params.temperature: ... [sampling-removed] (100 lines: 3, 7-9, 12, 15-40, …)

The ``FILE:LINE: `` prefix stays, for editors and GitHub annotations. Memory is bounded: at most
``max_groups`` messages are kept, with a few line numbers each; problems with other messages are
only counted (``more``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHOWN_RUNS = 6  # runs of lines listed for a message found on more lines


@dataclass
class _Group:
    first: int
    count: int = 1
    runs: list[list[int]] = field(default_factory=list)  # [first, last] of consecutive lines
    cut: bool = False  # lines were left out of ``runs``

    def add(self, line_no: int, keep_all: bool) -> None:
        self.count += 1
        if line_no <= self.runs[-1][1]:  # the same message twice on one line
            return
        if self.runs[-1][1] == line_no - 1:
            self.runs[-1][1] = line_no
        elif keep_all or len(self.runs) < SHOWN_RUNS:
            self.runs.append([line_no, line_no])
        else:
            self.cut = True

    def text(self) -> str:
        shown = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in self.runs)
        return f"{self.count:,} lines: {shown}{', …' if self.cut else ''}"


class Problems:
    def __init__(self, name: str, max_groups: int | None) -> None:
        self.name = name
        self.max_groups = max_groups
        self.count = 0  # every problem found
        self.more = 0  # problems not shown: their message came after max_groups others
        self._groups: dict[str, _Group] = {}
        self._file: list[str] = []  # problems of the whole file (no line)

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, line_no: int, message: str) -> None:
        self.count += 1
        group = self._groups.get(message)
        if group is not None:
            group.add(line_no, keep_all=self.max_groups is None)
        elif self.max_groups is None or len(self._groups) < self.max_groups:
            self._groups[message] = _Group(line_no, runs=[[line_no, line_no]])
        else:
            self.more += 1

    def add_file(self, message: str) -> None:
        self.count += 1
        self._file.append(f"{self.name}: {message}")

    def lines(self) -> list[str]:
        """One line per message, in the order of the lines they were first found on."""
        out = list(self._file)
        for message, g in sorted(self._groups.items(), key=lambda item: item[1].first):
            text = f"{self.name}:{g.first}: {message}"
            if g.count > 1:
                text += f" ({g.text()})"
            out.append(text)
        return out
