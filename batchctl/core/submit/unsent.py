"""A submit that never reached the API leaves nothing behind.

The job and its parts are recorded before the first create (so that a crash can be recovered
without sending twice). When that create could not even connect (a refused connection, a host
name that does not resolve: ``APIError.request_sent`` is False), no batch can exist; keeping the
job would only leave a part "pending" that `status` reports and `wait` or `collect` would send
later, unasked. So the job is forgotten, and the error says so plainly.
"""

from __future__ import annotations

from batchctl.core.errors import APIError
from batchctl.core.state.store import Store

NOTHING_SENT = ("nothing was sent, and no job was kept: the same command sends the file once "
                "the API can be reached")


def forget_if_unsent(store: Store, job_id: str, exc: APIError) -> None:
    """After ``exc`` stopped the first sending of job ``job_id``: if no connection was ever
    made and the store holds no batch or open intent of it, remove the job and say so in
    ``exc`` (its next steps named the job: they go too)."""
    if exc.request_sent or not store.forget_unsent_job(job_id):
        return
    exc.message = f"{exc.message}; {NOTHING_SENT}"
    exc.args = (exc.message,)
    exc.next_steps = ()
