"""`batchctl emulator`: a real process (forked warm) serving HTTP, stopped by a signal, quietly."""

from __future__ import annotations

import signal
import socket

import anthropic
import orjson
import pytest

from tests.helpers import invoke
from tests.support.emulators import model_info, write_models
from tests.support.files import requests_for
from tests.support.processes import emulator_command, stop


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_serves_the_sdk_and_stops_quietly(tmp_path, signum):
    process = emulator_command(tmp_path / "state", "--processing-seconds", "0", "--seed", "4")
    try:
        lines = [process.readline().strip() for _ in range(2)]
        assert lines[0].startswith("export ANTHROPIC_BASE_URL=http://127.0.0.1:")
        assert lines[1] == "export ANTHROPIC_API_KEY=emulator-key"
        base_url = lines[0].split("=", 1)[1]
        with anthropic.Anthropic(api_key="emulator-key", base_url=base_url, max_retries=0) as client:
            batch = client.messages.batches.create(requests=requests_for(3))
            assert batch.processing_status == "ended"  # --processing-seconds 0
            assert len(list(client.messages.batches.results(batch.id))) == 3
    finally:
        code, err = stop(process, signum)
    assert code == 0
    assert "Traceback" not in err and "stopped" in err and base_url in err
    assert (tmp_path / "state" / "emulator" / "emulator.sqlite3").exists()  # the default --data


def test_json_names_the_url_key_and_data_dir(tmp_path):
    data = tmp_path / "data"
    process = emulator_command(tmp_path / "state", "--json", "--data", str(data))
    try:
        record = orjson.loads(process.readline())
    finally:
        code, _ = stop(process, signal.SIGINT)
    assert code == 0
    assert record["base_url"].startswith("http://127.0.0.1:") and record["api_key"] == "emulator-key"
    assert record["data_dir"] == str(data) and (data / "emulator.sqlite3").exists()


def test_bad_settings_from_the_environment_are_a_usage_error(tmp_path):
    result = invoke(["emulator", "--port", "0"], env={"BATCHCTL_EMULATOR_ERROR_RATE": "lots"})
    assert result.exit_code == 2
    assert "BATCHCTL_EMULATOR_ERROR_RATE" in result.stderr and result.stdout == ""


def test_a_busy_port_is_a_usage_error_with_a_hint(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = invoke(["emulator", "--port", str(port), "--data", str(tmp_path / "d")])
    assert result.exit_code == 2
    assert f"127.0.0.1:{port}" in result.stderr and "--port" in result.stderr


def test_models_flag_replaces_the_catalogue_it_serves(tmp_path):
    only = model_info("claude-brand-new-9")
    models = write_models(tmp_path / "m.json", only)
    process = emulator_command(tmp_path / "state", "--json", "--models", models)
    try:
        base_url = orjson.loads(process.readline())["base_url"]
        with anthropic.Anthropic(api_key="emulator-key", base_url=base_url, max_retries=0) as client:
            assert [m.id for m in client.models.list()] == ["claude-brand-new-9"]
    finally:
        code, _ = stop(process, signal.SIGINT)
    assert code == 0


def test_a_bad_models_file_is_a_usage_error_naming_it(tmp_path):
    bad = tmp_path / "m.json"
    bad.write_text("[]")
    result = invoke(["emulator", "--port", "0", "--models", str(bad)])
    assert result.exit_code == 2 and str(bad) in result.stderr and result.stdout == ""
