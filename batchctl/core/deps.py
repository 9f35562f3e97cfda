"""What a workflow needs from the outside, built lazily: the clock, the API client, the store.

The CLI's ``AppContext`` is one; a test can pass its own. It sits at the bottom of core so that
every package can name it without importing the packages that build the client or the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from batchctl.core.clock import Clock

if TYPE_CHECKING:  # importing the API layer loads anthropic (about a second)
    from batchctl.core.api.client import Api
    from batchctl.core.state.store import Store


class Deps(Protocol):
    """What a workflow needs from the outside, built lazily (the CLI's AppContext is one)."""

    clock: Clock

    def api(self) -> Api: ...

    def store(self) -> Store: ...

    def preload_api(self) -> None: ...
