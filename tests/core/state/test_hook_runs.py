"""The store's record of hook runs (batchctl.core.state.hooks), on both backends: a hook that
succeeded is never taken again, one that failed is, with its attempts counted; the due list of
collect's hooks holds only batches whose results were written."""

from __future__ import annotations

from batchctl.core.state.hooks import COLLECT, END, FAILED, SUCCEEDED, Rerun
from tests.support.clock import FakeClock
from tests.support.stores import BATCH, new_job, record

KEY = "a" * 64
URL = "http://x"  # new_job's base URL
AGAIN = Rerun("notify $X", "wait", URL, "{}")


def test_the_store_runs_a_succeeded_hook_never_again(open_store):
    store = open_store(FakeClock())
    key = KEY
    assert store.start_hook(END, "job_1", key) == 1
    store.end_hook(END, "job_1", key, exit_code=2, rerun=AGAIN)
    assert store.start_hook(END, "job_1", key) == 2
    store.end_hook(END, "job_1", key, exit_code=0)
    assert store.start_hook(END, "job_1", key) is None
    row = store.hook_run(END, "job_1", key)
    assert (row["state"], row["attempts"], row["exit_code"]) == (SUCCEEDED, 2, 0)


def test_a_failed_hook_keeps_its_command_until_it_succeeds(open_store):
    """What the next collect runs it again from: only while its last attempt failed, and
    only for the API it ran for."""
    store = open_store(FakeClock())
    assert store.start_hook(END, "job_1", KEY) == 1
    assert store.failed_hooks(base_url=URL) == []  # running: not a failure (yet)
    store.end_hook(END, "job_1", KEY, exit_code=2, rerun=AGAIN)
    (row,) = store.failed_hooks(base_url=URL)
    assert (row["subject"], row["command"], row["trigger"], row["details"]) == (
        "job_1", "notify $X", "wait", "{}")
    assert store.failed_hooks(base_url="http://other") == []
    assert store.start_hook(END, "job_1", KEY) == 2
    store.end_hook(END, "job_1", KEY, exit_code=0)
    assert store.failed_hooks(base_url=URL) == []
    row = store.hook_run(END, "job_1", KEY)
    assert (row["command"], row["trigger"], row["base_url"], row["details"]) == (
        None, None, None, None)  # the text is gone with the failure


def test_collect_hooks_are_due_only_for_batches_collected(open_store):
    store = open_store(FakeClock())
    record(store, new_job(store))
    store.hook_due(COLLECT, BATCH["id"], KEY)
    store.hook_due(COLLECT, BATCH["id"], KEY)  # recorded once
    assert store.collected_hooks_due(KEY, base_url=URL) == []
    store.mark_collected(BATCH["id"], "/tmp/r.jsonl")
    (row,) = store.collected_hooks_due(KEY, base_url=URL)
    assert (row["id"], row["results_path"]) == (BATCH["id"], "/tmp/r.jsonl")
    assert store.collected_hooks_due("b" * 64, base_url=URL) == []
    assert store.start_hook(COLLECT, BATCH["id"], KEY) == 1
    store.end_hook(COLLECT, BATCH["id"], KEY, exit_code=1, rerun=AGAIN)
    assert store.hook_run(COLLECT, BATCH["id"], KEY)["state"] == FAILED
    assert len(store.collected_hooks_due(KEY, base_url=URL)) == 1
    assert store.start_hook(COLLECT, BATCH["id"], KEY) == 2
    store.end_hook(COLLECT, BATCH["id"], KEY, exit_code=0)
    assert store.collected_hooks_due(KEY, base_url=URL) == []


def test_a_failure_recorded_before_m011_is_left_to_its_own_command(open_store):
    """A row that failed before the command was kept (command NULL) is not in the list the
    next collect runs again; the same command still takes it."""
    store = open_store(FakeClock())
    assert store.start_hook(END, "job_1", KEY) == 1
    store.end_hook(END, "job_1", KEY, exit_code=2, rerun=AGAIN)
    with store.transaction() as tx:
        tx.execute("UPDATE hook_runs SET command = NULL, trigger = NULL, base_url = NULL, "
                   "details = NULL")
    assert store.failed_hooks(base_url=URL) == []
    assert store.start_hook(END, "job_1", KEY) == 2
