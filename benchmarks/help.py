"""How long help takes: piped and on a terminal, side by side.

    .venv/bin/python benchmarks/help.py [--reps 15] [--compare DIR]

Runs ``batchctl --help``, ``batchctl status --help`` and ``batchctl run --help`` in a fresh
process each time, piped (stdout a pipe: the plain page) and as on a terminal
(``BATCHCTL_FORCE_TTY=1``: the coloured page, through the same renderer a terminal gets), in
alternation, and prints the medians and the best of wall time, with ``python -c pass`` (the
interpreter's own start-up) beside them for scale; ``--compare DIR`` times the batchctl of
another checkout (a git worktree of an older commit) in the same alternation. Also warns if a
help run imported anthropic, pydantic, Rich, markdown_it or pygments (``-X importtime``).
Target (issue 15): help on a terminal in at most 0.15 s.

Figures, 2026-12-02, Linux x86_64 VM, 2 cores shared with other helpers' test runs (load
average 3.3), Python 3.11.7, median of 15 (best in brackets); "before" is the commit before
batchctl wrote its own help (Typer's rich help), timed in alternation with ``--compare``:

| | piped | terminal |
|---|---:|---:|
| `batchctl --help` | 0.139 s (0.115) | 0.148 s (0.114) |
| `batchctl --help`, before | 0.198 s (0.176) | 0.304 s (0.235) |
| `batchctl status --help` | 0.122 s (0.112) | 0.119 s (0.110) |
| `batchctl status --help`, before | 0.272 s (0.255) | 0.340 s (0.318) |
| `batchctl run --help` | 0.115 s (0.109) | 0.119 s (0.108) |
| `batchctl run --help`, before | 0.262 s (0.239) | 0.340 s (0.310) |
| `python -c pass` | 0.024 s | |

Target met: a terminal's help is as fast as piped help, within 0.15 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PY = sys.executable
ROOT = Path(__file__).resolve().parent.parent
BATCHCTL = [PY, "-m", "batchctl"]  # run in ROOT; the same for a --compare checkout
HEAVY = ("anthropic", "pydantic", "markdown_it", "pygments", "rich")  # help needs none of them
COMMANDS = (["--help"], ["status", "--help"], ["run", "--help"])


def env(terminal: bool) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("BATCHCTL_", "ANTHROPIC_"))}
    e["COLUMNS"] = "100"
    if terminal:
        e["BATCHCTL_FORCE_TTY"] = "1"
    return e


def once(argv: list[str], environ: dict[str, str], cwd: str | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=environ, check=False, cwd=cwd)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr.decode()[-500:]}")
    return took


def heavy_imports(args: list[str], terminal: bool) -> list[str]:
    """The heavy modules one help run imports (``-X importtime`` on stderr)."""
    code = ("import sys; from batchctl.cli.app import main; "
            f"sys.argv = ['batchctl', *{args!r}]; main()")
    done = subprocess.run([PY, "-X", "importtime", "-c", code], capture_output=True,
                          env=env(terminal), check=False, text=True, cwd=ROOT)
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
             if line.startswith("import time:")}
    return sorted(n for n in names if n.split(".")[0] in HEAVY or n in HEAVY)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--reps", type=int, default=15, help="runs of each (median and best)")
    p.add_argument("--compare", metavar="DIR",
                   help="also time the batchctl of this checkout (python -m batchctl run in it), "
                   "e.g. a git worktree of an older commit, in alternation with this one")
    a = p.parse_args()
    sides: list[tuple[str, list[str], str | None]] = [("", BATCHCTL, str(ROOT))]
    if a.compare:
        sides.append((f" ({a.compare})", BATCHCTL, a.compare))
    rows: list[tuple[str, str, str]] = []
    for args in COMMANDS:
        times: dict[tuple[str, bool], list[float]] = {
            (side, t): [] for side, _, _ in sides for t in (False, True)}
        for _ in range(a.reps):  # alternate, so load changes hit every side alike
            for suffix, cmd, cwd in sides:
                for terminal in (False, True):
                    times[(suffix, terminal)].append(once([*cmd, *args], env(terminal), cwd))
        for suffix, _, _ in sides:
            piped, tty = times[(suffix, False)], times[(suffix, True)]
            rows.append((f"`batchctl {' '.join(args)}`{suffix}",
                         f"{statistics.median(piped):.3f} s (best {min(piped):.3f})",
                         f"{statistics.median(tty):.3f} s (best {min(tty):.3f})"))
        label = f"`batchctl {' '.join(args)}`"
        for terminal in (False, True):
            heavy = heavy_imports(args, terminal)
            if heavy:
                print(f"warning: {label} (terminal={terminal}) imported {', '.join(heavy)}",
                      file=sys.stderr)
    bare = [once([PY, "-c", "pass"], env(False)) for _ in range(a.reps)]
    rows.append(("`python -c pass`", f"{statistics.median(bare):.3f} s", ""))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"median of {a.reps}, load average {load:.1f}, Python {sys.version.split()[0]}\n")
    print("| | piped | terminal |\n|---|---:|---:|")
    for label, piped_s, tty_s in rows:
        print(f"| {label} | {piped_s} | {tty_s} |")


if __name__ == "__main__":
    main()
