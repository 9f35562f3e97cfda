"""The one table of how the command line names the options core's messages mention.

Core words some messages about an option ("--max-queued 5 is smaller than a part of 7
requests") with the name its caller gives (``batchctl.core.flags``); the CLI hands this table
in with every options value it builds, and shows an option that core suggests in a command
line (a ``Flag`` in a ``NextStep``) by it. The keys are core's names for the options (the
parameters and fields they fill); ``tests/cli/test_cli_flags.py`` checks that every flag named here
is one that batchctl accepts.
"""

from __future__ import annotations

from batchctl.core.flags import Flags

FLAGS = Flags({
    # results and run: what to write
    "out": "-o",
    "fmt": "--format",
    "only": "--only",
    "order": "--order",
    "prices_file": "--prices",
    "json_": "--json",
    "merge_retries": "--merge-retries",
    "extract": "--extract",
    "thinking": "--thinking",
    "join": "--join",
    "id_column": "--id-column",
    "columns": "--columns",
    "summary_json": "--summary-json",
    # submit and run: what is sent, and how
    "max_requests": "--max-requests",
    "max_bytes": "--max-bytes",
    "max_cost": "--max-cost",
    "max_queued": "--max-queued",
    "label": "--label",
    "force": "--force",
    "cache": "--cache",
    "cache_minimums": "--cache-minimums",
    "no_warmup": "--no-warmup",
    "warmup_timeout": "--warmup-timeout",
    # submit and run: what each request is checked against
    "api_version": "--api-version",
    "betas": "--beta",
    "limits": "--limits",
    "allow_unknown_model": "--allow-unknown-model",
    "lift_betas": "--lift-betas",
    # prepare (and --id-column, as for results --join)
    "files_glob": "--files",
    "column": "--column",
    "template": "--template",
    "model": "--model",
    "max_tokens": "--max-tokens",
    "id_prefix": "--id-prefix",
    # wait, run, status, retry-failed
    "timeout": "--timeout",
    "include_canceled": "--include-canceled",
    "dry_run": "--dry-run",
    # hooks: collect, wait and run
    "exec": "--exec",
    "on_end": "--on-end",
    "request_file": "--request-file",
    # options of the commands core suggests (``Flag`` in a ``NextStep``)
    "local": "--local",
    "wide": "--wide",
    # the global options
    "base_url": "--base-url",
    "emulator": "--emulator",
    "no_emulator": "--no-emulator",
    "store": "--store",
})
