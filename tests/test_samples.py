"""Every file under samples/ is used here: the request files pass (or fail) validation as the
README says, prompts.txt goes through prepare | submit, and the scripts run against the emulator."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.helpers import invoke
from tests.support.emulators import API_KEY
from tests.support.paths import SAMPLES
from tests.support.processes import shell_env


def lines(name: str) -> list[dict]:
    return [orjson.loads(x) for x in (SAMPLES / name).read_bytes().splitlines() if x.strip()]


@pytest.mark.parametrize(
    "name, count", [("questions.jsonl", 15), ("mixed.jsonl", 5), ("openai_style.jsonl", 4),
                    ("shared_doc.jsonl", 200)]
)
def test_request_samples_pass_a_dry_run(name, count):
    result = invoke(["submit", str(SAMPLES / name), "--dry-run", "--json"])
    assert result.exit_code == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert summary["requests"] == count
    assert summary["unpriced_models"] == []  # the samples use a model the price table knows


def test_mixed_sample_covers_what_it_promises():
    reqs = {r["custom_id"]: r["params"] for r in lines("mixed.jsonl")}
    assert isinstance(reqs["system-prompt"]["system"], str)
    assert [m["role"] for m in reqs["multi-turn"]["messages"]] == ["user", "assistant", "user"]
    assert reqs["tool-definition"]["tools"][0]["input_schema"]["type"] == "object"
    image = reqs["image-base64"]["messages"][0]["content"][0]
    assert image["source"]["media_type"] == "image/png"
    assert base64.b64decode(image["source"]["data"]).startswith(b"\x89PNG\r\n\x1a\n")


def test_shared_doc_sample_is_what_its_script_writes(tmp_path):
    out = tmp_path / "shared_doc.jsonl"
    subprocess.run([sys.executable, str(SAMPLES / "make_shared_doc.py"), str(out)], check=True)
    assert out.read_bytes() == (SAMPLES / "shared_doc.jsonl").read_bytes()
    assert out.stat().st_size < 5_000_000
    reqs = lines("shared_doc.jsonl")
    docs = {orjson.dumps(r["params"]["system"]) for r in reqs}
    assert len(docs) == 1  # one document in front of every question
    assert len(reqs[0]["params"]["system"][0]["text"]) > 4 * 4096  # over Haiku 4.5's minimum
    assert len({r["params"]["messages"][0]["content"] for r in reqs}) == len(reqs) == 200
    assert b"cache_control" not in out.read_bytes()  # --cache auto places the markers


def test_shared_doc_sample_reads_its_cache_after_a_warm_up(make_emulator):
    """The markers batchctl's planner places (core/caching), sent to the emulator: one batch
    mostly writes; a warm-up batch of one request, then the rest, reads (issue 20 item 6)."""
    from batchctl.core.caching.place import CachePlan, place
    from batchctl.core.caching.planner import Planner

    reqs = lines("shared_doc.jsonl")
    planner = Planner()
    for n, line in enumerate(reqs, 1):
        planner.add(line["params"], n)
    plan = CachePlan.from_grouping(planner.finish())
    placed = [{**line, "params": place(line["params"], plan).body} for line in reqs]

    def readers(emulator, *batches):
        found = []
        with emulator.client() as client:
            for requests in batches:
                batch = client.messages.batches.create(requests=requests)
                emulator.clock.advance(61)
                found += [r.result.message.usage.cache_read_input_tokens > 0
                          for r in client.messages.batches.results(batch.id)]
        return sum(found)

    assert readers(make_emulator(), placed) < 100
    assert readers(make_emulator(), placed[:1], placed[1:]) >= 0.9 * 199


def test_openai_style_sample_is_the_openai_form():
    for obj in lines("openai_style.jsonl"):
        assert (obj["method"], obj["url"]) == ("POST", "/v1/messages") and "body" in obj


def test_invalid_sample_reports_each_problem_on_its_line():
    path = SAMPLES / "invalid.jsonl"
    result = invoke(["submit", str(path), "--dry-run"])
    assert result.exit_code == 3
    assert result.stdout == ""
    found = re.findall(rf"^{re.escape(str(path))}:(\d+): (.*)$", result.stderr, re.M)
    assert [int(n) for n, _ in found] == list(range(2, 14))  # line 1 is valid; 2..13 each wrong
    messages = {int(n): m for n, m in found}
    expect = {
        2: "invalid JSON", 3: "custom_id", 4: 'custom_id "ok-1" repeats line 1',
        5: "max_tokens is missing", 6: "max_tokens: must be at least 1", 7: "model is missing",
        8: "messages is empty", 9: "stream", 10: "expected a JSON object", 11: "url must be",
        12: "params is missing", 13: "trailing characters",
    }
    for n, text in expect.items():
        assert text in messages[n], (n, messages[n])


def test_prompts_txt_through_prepare_and_submit(cli, emulator):
    prepared = cli("prepare", str(SAMPLES / "prompts.txt"), "--max-tokens", "200")
    assert prepared.exit_code == 0, prepared.stderr
    reqs = [orjson.loads(x) for x in prepared.stdout.splitlines()]
    assert [r["custom_id"] for r in reqs] == ["line-1", "line-2", "line-3", "line-5", "line-6"]
    submitted = cli("submit", "-", input=prepared.stdout)
    assert submitted.exit_code == 0, submitted.stderr
    batch_id = submitted.stdout.strip()
    assert batch_id.startswith("msgbatch_")
    batch = emulator.client().messages.batches.retrieve(batch_id)
    assert batch.request_counts.processing == 5


SCRIPTS = ["oneliner.sh", "cron/collect.sh"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_are_valid_bash(script):
    path = SAMPLES / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(path)], check=True)


def test_crontab_line_names_the_script():
    entries = [x for x in (SAMPLES / "cron" / "crontab").read_text().splitlines()
               if x.strip() and not x.startswith("#")]
    assert len(entries) == 1
    fields = entries[0].split()
    assert len(fields) >= 6 and fields[5].endswith("samples/cron/collect.sh")
    assert shutil.which("bash")


# -- the scripts, really run against the in-process emulator --------------------------------------


def script_env(tmp_path: Path) -> dict[str, str]:
    return shell_env(tmp_path, BATCHCTL_HOME=str(tmp_path / "state"), BATCHCTL_EMULATOR="1",
                     BATCHCTL_EMULATOR_PROCESSING_SECONDS="0")


def bash(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_oneliner_script_turns_prompts_into_answers(tmp_path):
    answers = tmp_path / "answers.csv"
    done = bash([str(SAMPLES / "oneliner.sh"), str(answers)], script_env(tmp_path))
    assert done.returncode == 0, done.stderr
    rows = answers.read_text().splitlines()
    assert rows[0].startswith("custom_id,result_type,") and len(rows) == 6


def test_oneliner_script_writes_where_it_is_run(tmp_path):
    """No argument: answers.csv in the current directory, never under samples/."""
    here = tmp_path / "work"
    here.mkdir()
    (here / "mine.txt").write_text("one\ntwo\n")
    done = bash([str(SAMPLES / "oneliner.sh"), "out.csv", "mine.txt"], script_env(tmp_path),
                cwd=here)
    assert done.returncode == 0, done.stderr
    assert len((here / "out.csv").read_text().splitlines()) == 3  # header + the 2 prompts given
    done = bash([str(SAMPLES / "oneliner.sh")], script_env(tmp_path), cwd=here)
    assert done.returncode == 0, done.stderr
    assert len((here / "answers.csv").read_text().splitlines()) == 6  # samples/prompts.txt
    assert not (SAMPLES / "answers.csv").exists()


def test_ci_workflow_submits_on_one_runner_and_collects_on_another(
    tmp_path, make_emulator, postgres_url
):
    """The sample's two jobs, as written, on two "runners" (their own HOME and state dir) that
    share only a PostgreSQL store and the API (an emulator over HTTP)."""
    text = (SAMPLES / "ci" / "batch.yml").read_text()
    steps = re.findall(r"^\s+run: (batchctl .*)$", text, re.M)
    assert [s.split()[1] for s in steps] == ["submit", "collect"]
    installs = re.findall(r"^\s+run: (pip.*install.*)$", text, re.M)
    assert installs and all("./.batchctl-src[postgres]" in i for i in installs)  # the repo
    assert "${{ secrets.BATCHCTL_STORE }}" in text
    (tmp_path / "samples").symlink_to(SAMPLES)
    emu = make_emulator(processing_seconds=0)
    for runner, step in (("a", steps[0]), ("b", steps[1])):
        env = script_env(tmp_path / runner)
        del env["BATCHCTL_EMULATOR"]
        env.update(ANTHROPIC_BASE_URL=emu.base_url, ANTHROPIC_API_KEY=API_KEY,
                   BATCHCTL_STORE=postgres_url)
        done = bash(["-c", f"set -euo pipefail; {step}"], env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        if runner == "a":
            batch = done.stdout.strip()
    (collected,) = (tmp_path / "results").iterdir()
    assert collected.name == f"nightly-{batch}.csv"
    assert len(collected.read_text().splitlines()) == 16


def test_cron_script_collects_what_ended(tmp_path):
    env = script_env(tmp_path)
    submitted = invoke(["--emulator", "submit", str(SAMPLES / "questions.jsonl"), "--label", "q"],
                       env={k: env[k] for k in ("BATCHCTL_HOME", "BATCHCTL_EMULATOR_PROCESSING_SECONDS")})
    assert submitted.exit_code == 0, submitted.stderr
    batch = submitted.stdout.strip()
    env["RESULTS_DIR"] = str(tmp_path / "collected")
    done = bash([str(SAMPLES / "cron" / "collect.sh")], env)
    assert done.returncode == 0, done.stderr
    target = tmp_path / "collected" / f"q-{batch}.csv"
    assert done.stdout.strip() == str(target)
    assert len(target.read_text().splitlines()) == 16
