"""What the tests share, each piece once; the fixtures among them are registered in
tests/conftest.py.

- ``paths``: the clone's root, the samples, the package.
- ``clock``: the fake clock every test runs on.
- ``files``: request lines and request files (the one request factory), CSV and JSON lines read.
- ``failures``: what a call raised, read without naming its class.
- ``emulators``: the emulator over HTTP (``make_emulator``), and what it holds.
- ``runs``: batchctl in-process against an emulator (``on``, ``cli_on``), tracked submits, batches
  made with the SDK alone.
- ``processes``: batchctl as a process of its own: its environment, runs to the end, a fresh
  interpreter's loaded modules, the ``emulator`` command serving.
- ``warm``: those processes forked from an interpreter that has imported batchctl and the SDK
  once (``warm_server``), and a ``batchctl`` for shells that does the same.
- ``stores``: the state store's two backends (a real PostgreSQL server) and reading a store.
- ``hostile``: a server that answers what a test tells it to.
- ``caching``: requests that share a long document, for the prompt-caching tests.
- ``fixtures``: the fixtures built on the above.

Running batchctl in-process (typer's CliRunner) is ``tests/helpers.invoke``.
"""
