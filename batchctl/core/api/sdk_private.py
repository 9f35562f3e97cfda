"""Every private name of the anthropic SDK that batchctl (or its tests) relies on, in one place.

The SDK releases weekly and promises nothing about its private modules, log lines or keyword
arguments. Each name below is used only through this module, and ``tests/core/api/test_sdk_private.py``
(the canary) names each one and fails, saying which, when a release moves it. Nothing here imports
the SDK at module level: reading a constant costs nothing at start-up.
"""

from __future__ import annotations

import importlib

#: The logger of the SDK's request loop (``anthropic/_base_client.py``: ``log``); it says
#: "Retrying request to URL in N seconds" before each retry, which batchctl relays to the user.
SDK_LOGGER = "anthropic._base_client"
#: That log line's format string, with its two arguments (the URL path, the seconds).
SDK_RETRY_MESSAGE = "Retrying request to %s in %f seconds"
#: The client's keyword for validating every response against its types (``Anthropic.__init__``):
#: the tests' SDK clients turn it on, so an emulator reply of the wrong shape fails loudly.
STRICT_VALIDATION = "_strict_response_validation"
#: Where the SDK keeps the ``anthropic-version`` it sends by default (``anthropic/_constants.py``).
API_VERSION_AT = ("anthropic._constants", "ANTHROPIC_API_VERSION")


def sdk_api_version() -> str:
    """The ``anthropic-version`` header value the installed SDK sends by default."""
    module, name = API_VERSION_AT
    return str(getattr(importlib.import_module(module), name))
