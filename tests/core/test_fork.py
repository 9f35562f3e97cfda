"""batchctl.core.fork: a step computed in a forked child while the parent works, and errors
carried back whole. Forking is only done in a single-threaded process, so the cases run in a
fresh interpreter (pytest's own threads would make `beside` fall back to running in line)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap

import pytest

from batchctl.core import errors


def _run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_work_runs_in_a_child_while_meanwhile_runs_here() -> None:
    got = _run(
        """
        import json, os
        from batchctl.core.fork import beside, can_fork
        calls = []
        pid = beside(lambda: os.getpid(), lambda: calls.append(os.getpid()))
        print(json.dumps({"can": can_fork(), "child": pid, "me": os.getpid(), "calls": calls}))
        """
    )
    assert got["can"] is True
    assert got["child"] != got["me"]
    assert got["calls"] == [got["me"]]


def test_an_input_error_comes_back_whole() -> None:
    got = _run(
        """
        import json
        from batchctl.core.errors import InputError
        from batchctl.core.fork import beside
        def work():
            raise InputError("f.jsonl: 3 problems", problems=["f.jsonl:2: bad"], more=2, hint="h")
        try:
            beside(work, lambda: None)
        except InputError as exc:
            print(json.dumps({"msg": exc.message, "problems": exc.problems, "more": exc.more,
                              "hint": exc.hint, "code": exc.exit_code}))
        """
    )
    assert got == {"msg": "f.jsonl: 3 problems", "problems": ["f.jsonl:2: bad"], "more": 2,
                   "hint": "h", "code": 3}


def test_a_child_that_dies_is_redone_here() -> None:
    got = _run(
        """
        import json, os
        from batchctl.core.fork import beside
        me = os.getpid()
        def work():
            if os.getpid() != me:
                os._exit(9)  # the child dies without an answer
            return "done here"
        print(json.dumps({"result": beside(work, lambda: None)}))
        """
    )
    assert got == {"result": "done here"}


def test_an_error_in_meanwhile_ends_the_child_and_propagates() -> None:
    got = _run(
        """
        import json, os, time
        from batchctl.core.fork import beside
        def work():
            time.sleep(30)
        def meanwhile():
            raise KeyboardInterrupt
        start = time.monotonic()
        try:
            beside(work, meanwhile)
        except KeyboardInterrupt:
            print(json.dumps({"interrupted": True, "quick": time.monotonic() - start < 10}))
        """
    )
    assert got == {"interrupted": True, "quick": True}


def test_with_other_threads_running_it_runs_in_line() -> None:
    got = _run(
        """
        import json, os, threading
        from batchctl.core.fork import beside, can_fork
        stop = threading.Event()
        t = threading.Thread(target=stop.wait); t.start()
        pid = beside(lambda: os.getpid(), lambda: None)
        stop.set(); t.join()
        print(json.dumps({"can": False if pid == os.getpid() else True}))
        """
    )
    assert got == {"can": False}


def test_threads_that_say_they_are_fork_safe_do_not_stop_it() -> None:
    got = _run(
        """
        import json, os, threading
        from batchctl.core.fork import FORK_SAFE, beside, can_fork
        stop = threading.Event()
        t = threading.Thread(target=stop.wait); setattr(t, FORK_SAFE, True); t.start()
        pid = beside(lambda: os.getpid(), lambda: None)
        stop.set(); t.join()
        print(json.dumps({"forked": pid != os.getpid()}))
        """
    )
    assert got == {"forked": True}


def test_the_clis_notice_relay_leaves_submit_its_fork() -> None:
    """While core runs, the CLI shows the API layer's notices from a thread of its own
    (batchctl.cli.render.events.Relay): submit still checks the file in a forked child, and a
    notice queued meanwhile is shown once, by the parent."""
    got = _run(
        """
        import json, os, threading
        from pathlib import Path
        from batchctl.cli.context import AppContext
        from batchctl.cli.iostreams import IOStreams
        from batchctl.cli.render.events import Relay
        from batchctl.core.events import NOTE, Note
        from batchctl.core.fork import beside
        from batchctl.core.settings import Settings
        io = IOStreams.test()
        actx = AppContext.build(Settings(Path("."), False, "http://127.0.0.1:9"))
        actx.io = io
        with Relay(actx) as relay, relay.call():
            threads = threading.active_count()
            actx.notices.put(Note(NOTE, "said once"))
            pid = beside(lambda: os.getpid(), lambda: None)
        print(json.dumps({"threads": threads, "forked": pid != os.getpid(),
                          "stderr": io.written(stderr=True)}))
        """
    )
    assert got == {"threads": 2, "forked": True, "stderr": "note: said once\n"}


@pytest.mark.parametrize(
    "exc",
    [
        errors.InputError("bad", problems=["a:1: x"], more=4, hint="fix it"),
        errors.UnavailableError("down", status=529, request_id="req_1", retry_after=2.0),
        errors.StateError("changed", hint="restore it"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_pickle_with_every_attribute(exc: errors.BatchctlError) -> None:
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc)
    assert back.__dict__ == exc.__dict__
    assert str(back) == str(exc) and back.exit_code == exc.exit_code


def test_submit_through_the_fork_reports_problems_and_submits(emulator, tmp_path) -> None:
    """In a process of its own (single-threaded, so submit checks the file in a forked child)."""
    from tests.support import warm
    from tests.support.emulators import API_KEY

    env = {"ANTHROPIC_API_KEY": API_KEY, "BATCHCTL_HOME": str(tmp_path / "state"),
           "PATH": "/usr/bin:/bin"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"custom_id": "a", "params": {}}\n{"custom_id": "a"}\n')
    run = lambda path: warm.run(  # noqa: E731
        ["--base-url", emulator.base_url, "submit", str(path)], env, timeout=120)
    refused = run(bad)
    assert refused.returncode == 3 and refused.stdout == ""
    assert f"{bad}:1: params.model is missing" in refused.stderr
    assert f"{bad}:2:" in refused.stderr and "line 1" in refused.stderr  # repeated custom_id
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"custom_id": "a", "params": {
        "model": "claude-haiku-4-5", "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}]}}) + "\n")
    sent = run(good)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("msgbatch_")
