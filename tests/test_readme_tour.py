"""README's first lines and its "A five-minute tour", run as written (bash, the in-process
emulator, a state store of their own) in a stand-in for a fresh clone: the first lines are the two
commands they promise, the main job works, and the tour, pasted after them into a shell with no
batchctl on PATH, finds the clone's one and writes only into its scratch folder; each claim its
comments make is checked against what the command printed and exited."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from tests.support import warm
from tests.support.paths import ROOT
from tests.support.processes import shell_env

README = ROOT / "README.md"

pytestmark = pytest.mark.slow  # about fifteen batchctl processes


@dataclass
class Step:
    command: str
    claim: str  # the comment on the command's line ("" if none)
    rc: int = -1
    stdout: str = ""
    stderr: str = ""


def sh_blocks(section: str) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", section, re.S | re.M)


def tour_steps() -> list[Step]:
    """The commands of the fenced sh block under the tour's heading, each with its comment."""
    text = README.read_text()
    section = text.split("\n## A five-minute tour\n", 1)[1].split("\n## ", 1)[0]
    (block,) = sh_blocks(section)
    steps = []
    for line in block.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        command, *claim = re.split(r"\s{2,}# ", line, maxsplit=1)
        steps.append(Step(command.strip(), "".join(claim).strip()))
    return steps


def fresh_clone(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A stand-in for a clone after the README's first command (its samples, and a `.venv/bin`
    whose `batchctl` runs each command as a warm child: tests/support/warm.py), and the
    environment of a fresh shell: no batchctl on PATH, no ANTHROPIC_ or BATCHCTL_ variable, a
    HOME of its own."""
    work = tmp_path / "clone"
    (work / ".venv").mkdir(parents=True)
    (work / ".venv" / "bin").symlink_to(warm.bin_dir())
    (work / "samples").symlink_to(ROOT / "samples")
    env = shell_env(
        tmp_path,
        TMPDIR=str(tmp_path),  # where the tour's `mktemp -d` folders go
        # Batches end at once, not after the 3 s the README states (the status claim names both
        # states): with any time to wait, `wait "$id"` polls again only after its first 5 s.
        # A real process waiting on the real clock: the README's first command, in
        # tests/core/results/test_result_order.py.
        BATCHCTL_EMULATOR_PROCESSING_SECONDS="0",
    )
    env["PATH"] = os.pathsep.join(d for d in env["PATH"].split(os.pathsep)
                                  if d and not (Path(d) / "batchctl").exists())
    return work, env


@dataclass
class Tour:
    steps: list[Step]
    batch: str  # $id
    clone: Path  # where it was pasted
    scratch: Path  # where it ended: its `cd "$(mktemp -d)"`


def run_tour(tmp_path: Path) -> Tour:
    """Runs every step in one bash (so `export`, `cd` and `id=` carry over), each step's output
    and exit code kept apart; `$?` after a step is still that step's exit code."""
    steps = tour_steps()
    out = tmp_path / "out"
    out.mkdir()
    lines = []
    for n, step in enumerate(steps):
        lines.append(f"{{ {step.command}\n}} >{out}/{n}.out 2>{out}/{n}.err; "
                     f"__rc=$?; echo $__rc >{out}/{n}.rc; (exit $__rc)")
    lines.append(f'echo "$id" >{out}/id; echo "$BATCHCTL_HOME" >{out}/home; echo "$PWD" >{out}/pwd')
    work, env = fresh_clone(tmp_path)
    done = subprocess.run(["bash", "-c", "\n".join(lines)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    for n, step in enumerate(steps):
        step.rc = int((out / f"{n}.rc").read_text())
        step.stdout = (out / f"{n}.out").read_text()
        step.stderr = (out / f"{n}.err").read_text()
    home = (out / "home").read_text().strip()
    assert home.startswith(str(tmp_path)), "the tour runs in a state store of its own"
    scratch = Path((out / "pwd").read_text().strip())
    return Tour(steps, (out / "id").read_text().strip(), work, scratch)


def step(steps: list[Step], starts: str, exact: bool = False) -> Step:
    (found,) = [s for s in steps if s.command == starts or (not exact and s.command.startswith(starts))]
    return found


def test_the_first_lines_are_the_main_job_and_the_tests_as_ci_runs_them(tmp_path):
    intro = README.read_text().split("\n## ", 1)[0]
    (block, *_) = sh_blocks(intro)
    setup, tests = block.splitlines()  # two commands, nothing else
    install, venv, main_job = setup.split(" && ")
    assert install.startswith("python3 -m venv .venv") and venv == ".venv/bin/pip install -e '.[test]'"
    # The tests: exactly the command .ci/run ends with, which makes its own virtualenvs.
    ci = [x for x in (ROOT / ".ci" / "run").read_text().splitlines()
          if x.strip() and not x.lstrip().startswith("#")]
    assert tests == ci[-1] == ".ci/test"
    assert "python3 -m venv" in (ROOT / ".ci" / "test").read_text()
    # The main job, in a fresh clone (the install is the virtualenv running these tests).
    work, env = fresh_clone(tmp_path)
    assert main_job == ".venv/bin/batchctl --emulator run samples/questions.jsonl -o answers.csv"
    done = subprocess.run(["bash", "-c", main_job], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # the answers went to the file; piped, stdout names the job and the file (README, run)
    job, path = done.stdout.splitlines()
    assert job.startswith("job_") and Path(path).resolve() == (work / "answers.csv").resolve()
    rows = (work / "answers.csv").read_text().splitlines()
    assert rows[0].startswith("custom_id,") and len(rows) == 16
    # What it writes at the root of the clone stays out of git.
    assert "/answers.csv" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_tour_does_what_its_comments_say(tmp_path):
    tour = run_tour(tmp_path)
    steps, batch, work = tour.steps, tour.batch, tour.scratch
    assert "BATCHCTL_HOME" in step(steps, "export BATCHCTL_HOME").command
    # batchctl is reachable after the first line (the fresh shell had none on PATH), and every
    # output lands in a scratch folder, not in the clone (where mixed.jsonl shadowed a sample).
    assert step(steps, "export PATH=").command == 'export PATH="$PWD/.venv/bin:$PATH"'
    assert all(s.rc != 127 for s in steps), [s.stderr for s in steps if s.rc == 127]
    assert work.parent == tmp_path and work != tour.clone
    assert sorted(p.name for p in tour.clone.iterdir()) == [".venv", "samples"]
    samples = tour.clone / "samples"

    dry = step(steps, 'batchctl submit "$samples/questions.jsonl" --dry-run')
    assert "15 requests" in dry.claim and "nothing sent" in dry.claim
    assert dry.rc == 0, dry.stderr
    assert "requests\t15" in dry.stdout and "est. cost" in dry.stdout
    assert "nothing was sent" in dry.stderr

    invalid = step(steps, 'batchctl submit "$samples/invalid.jsonl"')
    assert invalid.claim.startswith("exit 3") and invalid.rc == 3
    assert invalid.stdout == ""
    assert re.findall(rf"^{re.escape(str(samples))}/invalid\.jsonl:\d+: ", invalid.stderr, re.M)
    assert "nothing was submitted" in invalid.stderr

    assert "msgbatch_" in step(steps, "id=$(").claim
    assert re.fullmatch(r"msgbatch_\w+", batch), batch

    status = step(steps, 'batchctl status "$id"')
    assert status.rc == 0, status.stderr
    fields = status.stdout.rstrip("\n").split("\t")
    assert fields[0] == batch and fields[1] in ("in_progress", "ended")  # 3 s may be up
    assert sum(int(x) for x in fields[2:7]) == 15 and "tour" in fields

    wait = step(steps, 'batchctl wait "$id"')
    assert wait.claim.endswith("exit 0") and wait.rc == 0, wait.stderr

    results = step(steps, 'batchctl results "$id" -o answers.csv')
    assert "15 CSV rows in the file's order" in results.claim and results.rc == 0, results.stderr
    rows = (work / "answers.csv").read_text().splitlines()
    assert rows[0].startswith("custom_id,") and len(rows) == 16
    questions = (ROOT / "samples" / "questions.jsonl").read_bytes().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == [orjson.loads(q)["custom_id"] for q in questions]
    assert "15 succeeded" in results.stderr and "tokens:" in results.stderr
    assert "estimated cost" in results.stderr

    again = step(steps, 'batchctl submit "$samples/questions.jsonl"', exact=True)
    assert "the same id, nothing sent" in again.claim
    assert again.rc == 0 and again.stdout.strip() == batch
    assert "already submitted" in again.stderr

    local = step(steps, "batchctl list --local")
    assert local.rc == 0 and "label tour" in local.claim
    (row,) = local.stdout.splitlines()  # the one batch: the repeat submit added nothing
    assert row.split("\t")[0] == batch and "tour" in row.split("\t")

    run = step(steps, 'BATCHCTL_EMULATOR_ERROR_RATE=0.4 batchctl run "$samples/mixed.jsonl"')
    assert run.rc == 9, run.stderr
    echo = step(steps, "echo $?")
    assert echo.claim.startswith("9: 2 of the 5 requests errored") and echo.stdout == "9\n"
    mixed = [orjson.loads(x) for x in (work / "mixed.jsonl").read_bytes().splitlines()]
    assert len(mixed) == 5 and sum(r["result"]["type"] == "errored" for r in mixed) == 2

    retry = step(steps, "batchctl retry-failed")
    assert "its 2 failures, as a new batch" in retry.claim
    assert retry.rc == 0, retry.stderr
    retry_batch = retry.stdout.strip()
    assert re.fullmatch(r"msgbatch_\w+", retry_batch) and retry_batch != batch
    assert "2 to retry" in retry.stderr

    prompts = step(steps, 'batchctl prepare "$samples/prompts.txt"')
    assert "5 prompts, 5 answers" in prompts.claim and prompts.rc == 0, prompts.stderr
    assert len((work / "prompts.csv").read_text().splitlines()) == 6

    collect = step(steps, "batchctl collect")
    assert "the retry's results" in collect.claim and collect.rc == 0, collect.stderr
    (path,) = collect.stdout.splitlines()
    assert retry_batch in Path(path).name and len(Path(path).read_text().splitlines()) == 2

    # The outputs landed in the scratch folder, and nothing else was written there.
    assert sorted(p.name for p in work.iterdir()) == ["answers.csv", "mixed.jsonl", "prompts.csv"]
