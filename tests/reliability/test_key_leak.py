"""The API key never shows: not in the state store (or any file under the state directory), not on
stdout or stderr, not in a traceback — on success, on API errors, on connection errors, with the
SDK's debug logging on, and when batchctl crashes."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

from tests.helpers import invoke
from tests.support.files import padded, write_requests
from tests.support.processes import KEY, batchctl_cmd, child_env
from tests.support.runs import on

# The key, and pieces long enough to mean it leaked (cut, or partly masked).
NEEDLES = [KEY, KEY[7:], KEY[-16:], KEY[:20]]


def assert_clean(where: str, data: str | bytes) -> None:
    raw = data.encode() if isinstance(data, str) else data
    for needle in NEEDLES:
        assert needle.encode() not in raw, f"the API key leaked into {where}"


def assert_files_clean(root: Path, *, expect_store: bool = True) -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    if expect_store:
        assert any(p.name == "batchctl.db" for p in files), files
    for path in files:
        assert_clean(str(path), path.read_bytes())


def test_key_never_printed_or_stored(make_emulator: Any, clock: Any, tmp_path: Path,
                                     state_dir: Path) -> None:
    emu = make_emulator(processing_seconds=0)
    requests = write_requests(tmp_path / "req.jsonl", 5, "leak-", padded(40), max_tokens=64)

    def run(*args: str, code: int = 0, **kwargs: Any) -> Any:
        result = on(emu, clock, *args, env={"ANTHROPIC_API_KEY": KEY}, **kwargs)
        assert result.exit_code == code, (args, result.exit_code, result.stderr)
        assert_clean(f"stdout of {args}", result.stdout)
        assert_clean(f"stderr of {args}", result.stderr)
        return result

    batch_id = run("submit", str(requests)).stdout.strip()
    assert batch_id.startswith("msgbatch_")
    run("submit", "--json", "--force", str(requests))
    run("submit", str(requests), tty=True)
    run("status", batch_id)
    run("status", "--json", tty=True)
    run("list")
    run("wait", batch_id)
    run("results", batch_id)
    (tmp_path / "out").mkdir()
    run("results", batch_id, "-o", str(tmp_path / "out" / "r.csv"))
    run("collect", "--dir", str(tmp_path / "out" / "collected"))
    run("status", "msgbatch_doesnotexist", code=5)
    # No server on port 9: a connection error (SDK retries off, to keep it quick).
    result = invoke(["--base-url", "http://127.0.0.1:9", "submit", "--force", str(requests)],
                    env={"ANTHROPIC_API_KEY": KEY}, clock=clock, api_max_retries=0)
    assert result.exit_code == 6, result.stderr
    assert_clean("a connection error", result.stdout + result.stderr)
    assert_files_clean(state_dir)
    assert_files_clean(tmp_path / "out", expect_store=False)


def test_key_not_in_the_sdk_debug_log_or_a_crash_traceback(make_emulator: Any,
                                                           tmp_path: Path) -> None:
    """In a real process with ANTHROPIC_LOG=debug (the SDK logs every request it sends): one
    submit that works, and one that crashes (exit 1) after the API call, with its traceback."""
    emu = make_emulator(real_clock=True)
    home = tmp_path / "state"
    requests = write_requests(tmp_path / "req.jsonl", 2, "crash-", padded(40), max_tokens=64)
    env = child_env(home, ANTHROPIC_LOG="debug")

    ok = subprocess.run(batchctl_cmd(emu.base_url, "submit", str(requests)), env=env,
                        capture_output=True, text=True, timeout=90)
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert "msgbatch_" in ok.stdout
    assert "HTTP Request: POST" in ok.stderr or "Request options" in ok.stderr  # the log is on
    assert_clean("stdout with ANTHROPIC_LOG=debug", ok.stdout)
    assert_clean("stderr with ANTHROPIC_LOG=debug", ok.stderr)

    # A bug injected into batchctl's own store (neither the SDK nor HTTP) via sitecustomize.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(textwrap.dedent("""
        import batchctl.core.state.store as store

        def record_batch(self, batch, **fields):
            raise RuntimeError("injected bug while recording " + batch["id"])

        store.Store.record_batch = record_batch
    """))
    env["PYTHONPATH"] = f"{hook}:{env['PYTHONPATH']}"
    crash = subprocess.run(batchctl_cmd(emu.base_url, "submit", "--force", str(requests)),
                           env=env, capture_output=True, text=True, timeout=90)
    assert crash.returncode == 1, (crash.returncode, crash.stderr[-3000:])
    assert "injected bug while recording" in crash.stderr
    assert_clean("stdout of a crash", crash.stdout)
    assert_clean("stderr of a crash", crash.stderr)
    assert_files_clean(home)
