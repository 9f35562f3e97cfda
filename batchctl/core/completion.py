"""Shell completion of ID|JOB arguments: tracked batch and job ids, read from the state store.

No network, no API client, no writes: the store is opened read-only (and not at all if it does
not exist yet), and any problem reading it yields no candidates rather than an error at a
prompt.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from batchctl.core.errors import BatchctlError
from batchctl.core.state.store import Store

MAX_CANDIDATES = 100


def complete_refs(
    state_dir: Path, *, base_url: str | None, incomplete: str, limit: int = MAX_CANDIDATES
) -> list[tuple[str, str]]:
    """``(id, description)`` for tracked batches and jobs whose id starts with ``incomplete``.

    Only those sent to ``base_url`` (the API the command would talk to), newest first."""
    try:
        store = Store.open_readonly(state_dir)
    except (OSError, sqlite3.Error):
        return []
    if store is None:
        return []
    try:
        return store.ref_candidates(incomplete, base_url=base_url, limit=limit)
    except (BatchctlError, sqlite3.Error):
        return []
    finally:
        store.close()
