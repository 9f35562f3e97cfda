"""The store's record of hook runs (batchctl.core.state.hooks), on both backends: a hook that
succeeded is never taken again, one that failed is, with its attempts counted; the due list of
collect's hooks holds only batches whose results were written."""

from __future__ import annotations

from batchctl.core.state.hooks import COLLECT, END, FAILED, SUCCEEDED
from tests.support.clock import FakeClock
from tests.support.stores import BATCH, new_job, record

KEY = "a" * 64
URL = "http://x"  # new_job's base URL


def test_the_store_runs_a_succeeded_hook_never_again(open_store):
    store = open_store(FakeClock())
    key = KEY
    assert store.start_hook(END, "job_1", key) == 1
    store.end_hook(END, "job_1", key, succeeded=False, exit_code=2)
    assert store.start_hook(END, "job_1", key) == 2
    store.end_hook(END, "job_1", key, succeeded=True, exit_code=0)
    assert store.start_hook(END, "job_1", key) is None
    row = store.hook_run(END, "job_1", key)
    assert (row["state"], row["attempts"], row["exit_code"]) == (SUCCEEDED, 2, 0)


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
    store.end_hook(COLLECT, BATCH["id"], KEY, succeeded=False, exit_code=1)
    assert store.hook_run(COLLECT, BATCH["id"], KEY)["state"] == FAILED
    assert len(store.collected_hooks_due(KEY, base_url=URL)) == 1
    assert store.start_hook(COLLECT, BATCH["id"], KEY) == 2
    store.end_hook(COLLECT, BATCH["id"], KEY, succeeded=True, exit_code=0)
    assert store.collected_hooks_due(KEY, base_url=URL) == []
