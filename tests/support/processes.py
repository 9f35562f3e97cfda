"""batchctl as a process of its own: the environment a child gets, its command line, a run to
the end, and what a fresh interpreter loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import warm
from tests.support.paths import ROOT

# The machine's CA settings, as they were before the suite emptied them (tests/support/fixtures.py,
# _isolated_env), for a child that talks TLS.
MACHINE_CAS = {k: v for k, v in os.environ.items() if k in ("SSL_CERT_FILE", "SSL_CERT_DIR")}

# Distinctive, so a leak anywhere is found by a plain substring search.
KEY = "sk-ant-api03-CANARY-reliability-7Q2xK9vB4mZp1Lw8"


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """This environment without ANTHROPIC_* and BATCHCTL_*, with the canary key, ``home`` as
    BATCHCTL_HOME and the clone on PYTHONPATH; ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "BATCHCTL_"))}
    env.update({"ANTHROPIC_API_KEY": KEY, "BATCHCTL_HOME": str(home), "PYTHONUNBUFFERED": "1"})
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def shell_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """For a shell that runs ``batchctl`` as a user would: this environment without ANTHROPIC_*
    and BATCHCTL_*, a ``batchctl`` first on PATH that runs each command as a process forked
    warm (tests/support/warm.py; the installed script's own start is tested in
    tests/core/results/test_result_order.py), then this interpreter's scripts, HOME in ``tmp_path``;
    ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "BATCHCTL_"))}
    path = os.pathsep.join([str(warm.bin_dir()), str(Path(sys.executable).parent), env["PATH"]])
    env.update(PATH=path, HOME=str(tmp_path / "home"))
    env.update(extra)
    return env


def batchctl_cmd(base_url: str, *args: str) -> list[str]:
    """``python -m batchctl`` against ``base_url``: for what only a fresh interpreter shows."""
    return [sys.executable, "-m", "batchctl", "--base-url", base_url, *args]


def run_batchctl(
    base_url: str, home: Path, *args: str, timeout: float = 90, **env: str
) -> subprocess.CompletedProcess[str]:
    """batchctl against ``base_url`` in a process of its own (forked warm: tests/support/warm.py)
    on the state in ``home``, to the end."""
    return warm.run(["--base-url", base_url, *args], child_env(home, **env), cwd=home.parent,
                    timeout=timeout)


def run_main(argv: list[str], *, terminal: bool = False) -> tuple[str, list[str]]:
    """``batchctl ARGV`` (exit 0) in a fresh interpreter: what it wrote to stdout, and every
    module it had imported by the end (``terminal``: BATCHCTL_FORCE_TTY=1)."""
    code = (
        "import os, sys\n"
        f"os.environ['BATCHCTL_FORCE_TTY'] = {'1' if terminal else ''!r}\n"
        "from batchctl.cli.app import main\n"
        f"sys.argv = ['batchctl', *{argv!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "print('\\nLOADED:' + ','.join(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    page, _, loaded = out.rpartition("\nLOADED:")
    return page, loaded.strip().split(",")


def emulator_command(state: Path, *args: str, env: dict[str, str] | None = None) -> warm.Child:
    """``batchctl --state-dir STATE emulator --port 0 ARGS`` serving in a process of its own
    (forked warm); read its first lines with ``readline()``, end it with ``stop``."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "BATCHCTL_"))}
    full_env.update(env or {})
    return warm.spawn(["--state-dir", str(state), "emulator", "--port", "0", *args], full_env)


def stop(process: warm.Child, signum: int) -> tuple[int, str]:
    """Send ``signum`` and wait (20 s at most): its exit code and what it wrote on stderr."""
    process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.wait(), err
