"""The TypeScript SDK (@anthropic-ai/sdk 1.x) against the emulator over HTTP.

Skips when node or npm is missing or the package cannot be installed. Nothing is written into
the source tree: the package is installed once (without a lock file) into a directory under the
system's temporary directory, shared by later runs, and the script runs from the test's own
temporary directory, next to a link to those node_modules.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.files import requests_for
from tests.support.processes import MACHINE_CAS

CLIENT = Path(__file__).parent / "ts" / "client.mjs"
PACKAGE = "@anthropic-ai/sdk@1"

pytestmark = pytest.mark.node


def _installed_sdk() -> Path:
    """node_modules holding the SDK, installed on first use; skips when that cannot be done."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    cache = Path(tempfile.gettempdir()) / f"batchctl-tests-ts-sdk1-{os.getuid()}"
    modules = cache / "node_modules"
    if (modules / "@anthropic-ai" / "sdk" / "package.json").exists():
        return modules
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    # Installed beside the cache and renamed into place: a concurrent run never sees half of it.
    staging = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
    command = [npm, "install", "--no-package-lock", "--no-save", "--no-audit", "--no-fund",
               "--prefix", str(staging), PACKAGE]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, timeout=240, check=False,
                              env={**os.environ, **MACHINE_CAS})
        if done.returncode != 0 or not (staging / "node_modules" / "@anthropic-ai").exists():
            error = done.stderr.decode(errors="replace")[-300:]
            pytest.skip(f"could not install {PACKAGE}: {error}")
        try:
            staging.rename(cache)
        except OSError:  # another run got there first
            pass
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm install {PACKAGE} timed out")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return modules


def test_the_typescript_sdk_creates_lists_and_reads_results(make_emulator, tmp_path):
    work = tmp_path / "ts"
    work.mkdir()
    shutil.copy(CLIENT, work / CLIENT.name)
    (work / "node_modules").symlink_to(_installed_sdk(), target_is_directory=True)
    emulator = make_emulator(processing_seconds=0)
    with emulator.client() as client:
        older = client.messages.batches.create(requests=requests_for(1)).id
    done = subprocess.run(
        ["node", str(work / CLIENT.name), emulator.base_url], capture_output=True, timeout=60, check=False,
        cwd=work,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    report = json.loads(done.stdout)
    created = report["created"]
    assert created["id"].startswith("msgbatch_") and created["processing_status"] == "ended"
    assert created["request_counts"] == {
        "processing": 0,
        "succeeded": 3,
        "errored": 1,
        "canceled": 0,
        "expired": 0,
    }
    assert report["retrieved"] == created
    assert report["listed"] == [created["id"], older]  # auto-paging with limit=1
    assert report["cancelStatus"] == 400
    results = {r["custom_id"]: r for r in report["results"]}
    assert set(results) == {"ts-a", "ts-b", "ts-c", "ts-bad"}
    assert "batchctl emulator" in results["ts-a"]["text"] and "hello 0" in results["ts-a"]["text"]
    assert (
        results["ts-bad"]["type"] == "errored"
        and results["ts-bad"]["error"] == "invalid_request_error"
    )
