"""The API layer's ``Outbox`` across threads (core/events.py): a reader on another thread waits
for what the call's thread queues, and a ``wake`` is never missed, however it falls."""

from __future__ import annotations

import threading

from batchctl.core.events import NOTE, Note, Outbox


def test_a_reader_waiting_on_another_thread_gets_each_item_as_it_is_put() -> None:
    outbox = Outbox()
    got: list[object] = []
    taken = threading.Event()

    def read() -> None:
        outbox.wait(outbox.wakes)
        got.extend(outbox.drain())
        taken.set()

    reader = threading.Thread(target=read)
    reader.start()
    outbox.put(Note(NOTE, "first"))
    assert taken.wait(30), "the waiting reader was not woken by the put"
    reader.join()
    assert got == [Note(NOTE, "first")] and len(outbox) == 0


def test_wait_returns_at_once_when_items_are_queued_or_a_wake_came_since_it_was_read() -> None:
    outbox = Outbox()
    outbox.put(Note(NOTE, "queued"))
    outbox.wait(outbox.wakes)  # something queued: no wait
    assert [n.text for n in outbox.drain()] == ["queued"]  # type: ignore[attr-defined]
    seen = outbox.wakes
    outbox.wake()  # between reading the count and waiting: not missed
    outbox.wait(seen)
    assert outbox.wakes == seen + 1 and outbox.drain() == []
