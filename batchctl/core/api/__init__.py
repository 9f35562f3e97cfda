"""The API layer, the only package that imports anthropic (lazily: nothing outside it imports
this package at module level, so ``batchctl --help`` and ``import batchctl`` never load the SDK).

``client``: ``Api``, the Message Batches API as batchctl uses it; ``guards``: what rides on the
SDK's transport (origin check, spend-limit stop, refused connections); ``sdkerrors``: SDK
exceptions mapped to the batchctl error tree.
"""

from batchctl.core.api.client import (
    BATCHES_PATH,
    DEFAULT_MAX_RETRIES,
    NOT_FOUND_BACKOFF,
    RESULTS_CHUNK,
    Api,
    Page,
    batch_dict,
)
from batchctl.core.api.sdkerrors import translate

__all__ = [
    "BATCHES_PATH",
    "DEFAULT_MAX_RETRIES",
    "NOT_FOUND_BACKOFF",
    "RESULTS_CHUNK",
    "Api",
    "Page",
    "batch_dict",
    "translate",
]
