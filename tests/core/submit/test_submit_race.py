"""A submit and a collect at once on one store (tests/reliability/test_concurrency.py, 1 run in 20
on PostgreSQL): the collect finds the submit's job pending the moment its parts are recorded
(``Store.pending_jobs``), and sends what the queue has room for. Had it claimed the job's feed
before the submit did, the submit found the feed busy and printed no batch id, its part sent by
the collect. A submit now holds its new job's feed claim before it records the parts.

Played here in that order with two handles on one PostgreSQL store (two sessions, whose locks
exclude each other as two processes' do; SQLite's file locks belong to the process, so two
handles in one process cannot show it): the collect runs the moment the submit has recorded its
parts, and is held once it has tried to claim the feed, until the submit is done."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from batchctl.core.events import gather
from batchctl.core.location import parse_store
from batchctl.core.requests import scan as core_requests
from batchctl.core.state.store import Store
from batchctl.core.submit.submit import JobOptions, submit
from batchctl.core.workflows.collect import PENDING, SENT, collect
from tests.support.runs import api_on

HANG = 60.0  # s: only a guard against a hang, never reached when the test passes or fails


class Race:
    """What the two handles share: the collect's thread and how far each side got."""

    def __init__(self) -> None:
        self.collect: Any = None  # what the collect's thread runs
        self.thread: threading.Thread | None = None
        self.tried = threading.Event()  # the collect tried to claim the feed
        self.submitted = threading.Event()  # the submit is done
        self.claimed: bool | None = None  # what the collect's claim got


class Collector(Store):
    """The collect's handle: says when it has tried to claim a job's feed, and once it has the
    claim, holds on to it until the submit is done."""

    race: Race

    def claim_feed(self, job_id: str) -> bool:
        got = self.race.claimed = super().claim_feed(job_id)
        self.race.tried.set()
        if got:
            assert self.race.submitted.wait(HANG)
        return got


class Submitter(Store):
    """The submit's handle: the moment its parts are recorded, the collect runs (in a thread of
    its own), and the submit goes on once the collect has tried to claim the feed."""

    race: Race

    def record_parts(self, job_id: str, parts: Any) -> None:
        super().record_parts(job_id, parts)
        if self.race.thread is None:
            self.race.thread = threading.Thread(target=self.race.collect)
            self.race.thread.start()
            assert self.race.tried.wait(HANG), "the collect never tried to claim the feed"


def test_a_collect_that_finds_a_submits_parts_pending_leaves_them_to_it(
    emulator: Any, clock: Any, seven: Path, tmp_path: Path, postgres_url: str
) -> None:
    location = parse_store(postgres_url)
    submitter = Submitter.open(tmp_path / "a", clock=clock, location=location)
    collector = Collector.open(tmp_path / "b", clock=clock, location=location)
    api_a, api_b = (api_on(emulator, clock, tmp_path / name) for name in ("a", "b"))
    race = submitter.race = collector.race = Race()
    outcomes: list[Any] = []

    def run_collect() -> None:
        events = collect(api_b, collector, directory=tmp_path / "out", fmt="jsonl", clock=clock)
        outcomes.extend(gather(events)[0])

    race.collect = run_collect
    try:
        scan = core_requests.scan_file(seven)
        try:
            _, result = gather(submit(api_a, submitter, scan, JobOptions(str(seven)), clock=clock))
        finally:
            race.submitted.set()
            assert race.thread is not None
            race.thread.join(HANG)
        created = emulator.batches()
        # The part was sent once, by the submit, which has its batch id to print.
        assert len(created) == 1
        assert [r["id"] for r in result.records] == [created[0]["id"]]
        assert result.pending == [] and result.held is None
        # The collect tried the feed while the submit held it, and left the job to it.
        assert race.claimed is False
        assert [(o.action, o.id) for o in outcomes] == [(PENDING, result.job_id)]
        assert SENT not in {o.action for o in outcomes}
    finally:
        for opened in (api_a, api_b, submitter, collector):
            opened.close()
