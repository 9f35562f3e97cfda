"""Spend and usage caps (issue 11, item 1): recognised from error.details.error_code (or the
400 of a limit set in the Console), never retried, one sentence and exit 10; a job stopped
part-way keeps its sent parts and a later submit sends only the rest."""

from __future__ import annotations

import json

from batchctl.core import errors
from batchctl.core.api.client import translate
from batchctl.core.events import Outbox
from batchctl.core.state.store import Store
from tests.helpers import invoke
from tests.support.failures import failure
from tests.support.files import request
from tests.support.runs import api_on, on


def test_the_tier_cap_on_create_exits_10_at_once_with_one_sentence(make_emulator, clock, seven):
    emulator = make_emulator(spend_limit="tier")
    result = on(emulator, clock, "submit", str(seven))
    assert result.exit_code == 10
    assert result.stdout == ""
    error, hint, step = result.stderr.splitlines()
    assert error.startswith("error: the API refused the request: your organization has reached "
                            "the monthly spend cap of its usage tier (enforced_spend_limit_reached)")
    assert "retrying will not help" in error and "request_id: req_" in error
    assert hint.startswith("hint: nothing was sent; job job_")
    assert step.startswith("hint: once the limit allows, send it and wait: batchctl --base-url ")
    assert " wait job_" in step
    assert clock.sleeps == []  # not one retry, not one backoff
    assert emulator.client().messages.batches.list().data == []


def test_a_workspace_limit_set_in_the_console_is_a_400_and_exits_10(make_emulator, clock, seven):
    emulator = make_emulator(spend_limit="workspace")
    result = on(emulator, clock, "submit", str(seven))
    assert result.exit_code == 10
    assert "the workspace has reached the spend limit set for it in the Claude Console" in result.stderr
    assert "You have reached your specified workspace API usage limits" in result.stderr
    assert clock.sleeps == []


def test_the_ramp_limit_says_when_to_come_back(make_emulator, clock, seven):
    emulator = make_emulator(spend_limit="ramp")
    result = on(emulator, clock, "submit", str(seven))
    assert result.exit_code == 10
    assert "ramp_limit_exceeded" in result.stderr and "try again in 60 s" in result.stderr
    assert clock.sleeps == []


def test_the_sdk_does_not_retry_a_cap_either(make_emulator, clock, tmp_path):
    """batchctl's own calls run with SDK retries: its hook stops them at a cap."""
    emulator = make_emulator(spend_limit="contract")
    retries = Outbox()
    api = api_on(emulator, clock, tmp_path / "s", max_retries=8, outbox=retries)
    client = api._client  # the SDK client batchctl built, retries on
    exc = translate(failure(lambda: client.messages.batches.create(requests=[request("a")])))
    assert isinstance(exc, errors.SpendLimitError) and exc.exit_code == 10
    assert exc.status == 429 and "contract_spend_limit_reached" in exc.message
    assert retries.drain() == []
    api.close()


def test_a_cap_part_way_keeps_the_sent_parts_and_the_same_submit_sends_the_rest(
    clock, seven, state_dir
):
    capped = {"BATCHCTL_EMULATOR_SPEND_LIMIT": "tier", "BATCHCTL_EMULATOR_SPEND_LIMIT_AFTER": "1"}
    first = invoke(["--emulator", "submit", str(seven), "--max-requests", "3"], env=capped,
                   clock=clock)
    assert first.exit_code == 10
    assert first.stdout == ""
    job_id = first.stderr.split("parts of job ", 1)[1].split()[0]
    assert f"hint: 1 of 3 parts of job {job_id} were sent and stay tracked" in first.stderr
    assert "the same submit (same options) or `wait` sends the 2 parts left" in first.stderr
    store = Store.open(state_dir, clock=clock)
    try:
        sent = store.job_batches(job_id)
        assert [b["part"] for b in sent] == [1]
        assert [store.get_intent(job_id, p)["state"] for p in (1, 2)] == ["done", "refused"]
    finally:
        store.close()

    again = invoke(["--emulator", "submit", str(seven), "--max-requests", "3"], clock=clock)
    assert again.exit_code == 0, again.stderr
    ids = again.stdout.split()
    assert len(ids) == 3 and ids[0] == sent[0]["id"]
    assert again.stderr == ""  # a refused part is not reconciled (no "looking for"): nothing was made
    listed = invoke(["--emulator", "list", "--json"], clock=clock)
    assert sorted(json.loads(line)["id"] for line in listed.stdout.splitlines()) == sorted(ids)


def test_after_a_cap_part_way_wait_job_sends_the_parts_left(clock, seven):
    capped = {"BATCHCTL_EMULATOR_SPEND_LIMIT": "tier", "BATCHCTL_EMULATOR_SPEND_LIMIT_AFTER": "2"}
    first = invoke(["--emulator", "submit", str(seven), "--max-requests", "3"], env=capped,
                   clock=clock)
    assert first.exit_code == 10
    job_id = first.stderr.split("parts of job ", 1)[1].split()[0]
    assert f"2 of 3 parts of job {job_id} were sent" in first.stderr
    still = invoke(["--emulator", "wait", job_id], env=capped, clock=clock)  # the cap holds
    assert still.exit_code == 10 and "enforced_spend_limit_reached" in still.stderr
    done = invoke(["--emulator", "wait", job_id], clock=clock)  # the limit lifted
    assert done.exit_code == 0, done.stderr
    listed = invoke(["--emulator", "list", "--json"], clock=clock)
    assert len(listed.stdout.splitlines()) == 3  # the third part, sent once
