"""Shell completion of ID|JOB arguments: tracked ids from the store, no network, no writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from batchctl.core.completion import complete_refs
from batchctl.core.settings import EMULATOR_BASE_URL
from batchctl.core.state.store import DB_NAME, Store
from tests.support.clock import FakeClock

REAL = "https://api.anthropic.com"


def track(store: Store, batch_id: str, *, base_url: str, label: str | None = None,
          job_id: str | None = None, part: int = 1, status: str = "in_progress") -> str:
    job = store.get_job(job_id) if job_id else None
    if job is None:
        fields = {"base_url": base_url, "request_file": "/x.jsonl", "source": "x.jsonl",
                  "sha256": "0" * 64, "byte_size": 1, "request_count": 1, "part_count": 1,
                  "split_key": "1-1", "label": label}
        if job_id:
            fields["id"] = job_id
        job = store.insert_job(**fields)
    store.record_batch(
        {"id": batch_id, "processing_status": status, "request_counts": {"processing": 1}},
        job_id=job["id"], part=part, base_url=base_url, request_file="/x.jsonl", sha256="0" * 64,
        byte_size=1, first_line=1, last_line=1, request_count=1, label=label,
    )
    return job["id"]


@pytest.fixture
def populated(state_dir: Path) -> dict[str, str]:
    clock = FakeClock()
    store = Store.open(state_dir, clock=clock)
    jobs = {}
    jobs["a"] = track(store, "msgbatch_aaa1", base_url=EMULATOR_BASE_URL, label="nightly",
                      job_id="job_aaa")
    clock.advance(1)
    track(store, "msgbatch_aaa2", base_url=EMULATOR_BASE_URL, label="nightly",
          job_id="job_aaa", part=2)
    clock.advance(1)
    jobs["b"] = track(store, "msgbatch_bbb", base_url=EMULATOR_BASE_URL, status="ended",
                      job_id="job_bbb")
    clock.advance(1)
    jobs["real"] = track(store, "msgbatch_real", base_url=REAL, job_id="job_real")
    clock.advance(1)
    track(store, "msgbatch_gone", base_url=EMULATOR_BASE_URL, job_id="job_gone")
    store.mark_deleted("msgbatch_gone")
    store.close()
    return jobs


def test_completes_batches_and_jobs_of_the_current_api_newest_first(state_dir, populated):
    got = complete_refs(state_dir, base_url=EMULATOR_BASE_URL, incomplete="")
    assert [value for value, _ in got] == [
        "msgbatch_bbb", "msgbatch_aaa2", "msgbatch_aaa1", "job_bbb", "job_aaa",
    ]
    assert dict(got)["msgbatch_aaa1"] == "nightly in_progress"
    assert dict(got)["job_aaa"] == "nightly: job of 2 batches"
    assert dict(got)["job_bbb"] == "job of 1 batch"


def test_filters_by_prefix_exactly(state_dir, populated):
    assert [v for v, _ in complete_refs(state_dir, base_url=EMULATOR_BASE_URL,
                                        incomplete="msgbatch_a")] == ["msgbatch_aaa2", "msgbatch_aaa1"]
    assert [v for v, _ in complete_refs(state_dir, base_url=REAL, incomplete="")] == [
        "msgbatch_real", "job_real",
    ]
    # "_" and "%" are not wildcards
    assert complete_refs(state_dir, base_url=EMULATOR_BASE_URL, incomplete="msgbatch%") == []
    assert complete_refs(state_dir, base_url=EMULATOR_BASE_URL, incomplete="MSGBATCH_") == []


def test_no_store_means_no_candidates_and_nothing_is_created(tmp_path):
    where = tmp_path / "nothing-here"
    assert complete_refs(where, base_url=REAL, incomplete="") == []
    assert not where.exists()


def test_a_broken_store_gives_no_candidates(tmp_path):
    tmp_path.joinpath(DB_NAME).write_bytes(b"this is not sqlite" * 100)
    assert complete_refs(tmp_path, base_url=REAL, incomplete="") == []


def _complete(state_dir: Path, words: str, *, extra_env: dict[str, str] | None = None) -> list[str]:
    """Ask the installed command for bash completions, the way the shell script does."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "BATCHCTL_"))}
    env.update(
        _BATCHCTL_COMPLETE="complete_bash",
        COMP_WORDS=words,
        COMP_CWORD=str(len(words.split(" ")) - 1),
        BATCHCTL_HOME=str(state_dir),
        ANTHROPIC_BASE_URL="http://127.0.0.1:9",  # nothing listens: a network call would fail
        **(extra_env or {}),
    )
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write(f'SDK:{\"anthropic\" in sys.modules}\\n'))\n"
        "sys.argv[0] = 'batchctl'\n"
        "from batchctl.cli.app import main\n"
        "main()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "SDK:False" in out.stderr  # no API client was built
    return out.stdout.split()


def test_the_shell_protocol_completes_ids_without_importing_the_sdk(state_dir, populated):
    words = _complete(state_dir, "batchctl --emulator status msgbatch_a")
    assert words == ["msgbatch_aaa2", "msgbatch_aaa1"]
    assert _complete(state_dir, "batchctl --emulator status job_") == ["job_bbb", "job_aaa"]
    # Another API's batches are not offered; commands and options still complete.
    assert _complete(state_dir, "batchctl status msgbatch_") == []
    assert "status" in _complete(state_dir, "batchctl sta")


# -- options that take one of a few values (issue 21, item 8) ------------------------------------
def _choice_options() -> list[tuple[str, Any, Any]]:
    """``(command, option, its context)`` for every option whose metavar lists literal values
    (``jsonl|csv``, ``json|tool:NAME``, ``sqlite|URL``), the root's included."""
    import typer

    from batchctl.cli.app import app

    root = typer.main.get_command(app)
    ctx = root.make_context("batchctl", [], resilient_parsing=True)
    found = [("batchctl", p, ctx) for p in root.params]
    for name in root.list_commands(ctx):
        command = root.get_command(ctx, name)
        sub = command.make_context(name, [], parent=ctx, resilient_parsing=True)
        found += [(name, p, sub) for p in command.params]
    return [(n, p, c) for n, p, c in found
            if "|" in (p.metavar or "") and p.metavar not in ("ID|JOB", "FILE|-")]


def test_every_option_of_a_few_values_completes_them() -> None:
    options = _choice_options()
    assert {(n, p.opts[0]) for n, p, _ in options} >= {
        ("results", "--format"), ("results", "--order"), ("results", "--extract"),
        ("run", "--order"), ("collect", "--format"), ("batchctl", "--store"),
        ("submit", "--cache"), ("run", "--cache")}
    for name, param, ctx in options:
        offered = [c.value for c in param.shell_complete(ctx, "")]
        # jsonl|csv: both; json|tool:NAME: json and tool:; sqlite|URL: sqlite (and a URL's start)
        literal = [v.split(":")[0] for v in param.metavar.split("|") if not v.isupper()]
        assert literal and all(any(o.startswith(v) for o in offered) for v in literal), (
            name, param.opts, offered)
        assert len(offered) == len(param.metavar.split("|")), (name, param.opts, offered)


def test_typed_values_narrow_the_choices() -> None:
    from batchctl.cli import choices

    assert [v for v, _ in choices.complete_order("i")] == ["input"]
    assert [v for v, _ in choices.complete_only("succeeded,e")] == ["succeeded,errored",
                                                                     "succeeded,expired"]
    assert [v for v, _ in choices.complete_only("")] == ["succeeded", "errored", "canceled",
                                                         "expired"]
    assert [v for v, _ in choices.complete_api_version("2023")] == ["2023-06-01"]
    assert [v for v, _ in choices.complete_cache("")] == ["off", "auto"]
    assert [v for v, _ in choices.complete_cache("a")] == ["auto"]


def test_order_completes_its_choices_through_the_shell_protocol(tmp_path: Path) -> None:
    """`--order <TAB>` offered file names (issue 21)."""
    (tmp_path / "answers.csv").write_text("")
    words = _complete(tmp_path, "batchctl results msgbatch_x --order ")
    assert words == ["api", "input"]
    assert _complete(tmp_path, "batchctl list --status c") == ["canceling"]
    assert _complete(tmp_path, "batchctl submit f.jsonl --api-version 2026") == ["2026-10-21"]


def test_columns_complete_the_answer_columns_not_given_yet(tmp_path: Path) -> None:
    (tmp_path / "text.csv").write_text("")
    for command in ("batchctl run f.jsonl", "batchctl results msgbatch_x"):
        assert _complete(tmp_path, f"{command} --columns text,result_type,c") == [
            "text,result_type,custom_id", "text,result_type,cache_creation_input_tokens",
            "text,result_type,cache_read_input_tokens"]
        assert "thinking" in _complete(tmp_path, f"{command} --columns ")
