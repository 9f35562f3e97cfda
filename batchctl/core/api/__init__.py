"""The API layer: the only package that imports anthropic (in ``client``), the transport guards,
what the server sends checked as untrusted input, and results bodies fetched resiliently.

This ``__init__`` imports nothing, so ``batchctl.core.api.untrusted`` never loads the SDK."""
