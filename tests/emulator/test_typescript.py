"""The TypeScript SDK (@anthropic-ai/sdk 1.x) against the emulator over HTTP.

Skips when node or npm is missing or the package cannot be installed. The package goes into
tests/emulator/ts/node_modules (gitignored), installed without a lock file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.emulator.support import requests_for

TS_DIR = Path(__file__).parent / "ts"
SDK_DIR = TS_DIR / "node_modules" / "@anthropic-ai" / "sdk"

pytestmark = pytest.mark.node


def _sdk_installed() -> bool:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if (SDK_DIR / "package.json").exists():
        return True
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed")
    command = [npm, "install", "--no-package-lock", "--no-save", "--no-audit", "--no-fund",
               "--prefix", str(TS_DIR), "@anthropic-ai/sdk@1"]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, timeout=240, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("npm install @anthropic-ai/sdk timed out")
    if done.returncode != 0 or not (SDK_DIR / "package.json").exists():
        pytest.skip(f"could not install @anthropic-ai/sdk: {done.stderr.decode(errors='replace')[-300:]}")
    return True


def test_the_typescript_sdk_creates_lists_and_reads_results(start_emu):
    _sdk_installed()
    emu = start_emu(processing_seconds=0)
    with emu.client() as client:
        older = client.messages.batches.create(requests=requests_for(1)).id
    done = subprocess.run(
        ["node", str(TS_DIR / "client.mjs"), emu.base_url], capture_output=True, timeout=60, check=False
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
