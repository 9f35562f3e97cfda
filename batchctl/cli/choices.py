"""Shell completion of the options that take one of a few values (`--format <TAB>` offered file
names). Each is handed to its option as typer's public ``autocompletion`` callback; the values
come from the core modules that check them, imported only when the shell asks, so that
`batchctl --help` loads none of them."""

from __future__ import annotations

from collections.abc import Iterable

Candidates = list[tuple[str, str]]


def _matching(values: Iterable[tuple[str, str]], incomplete: str) -> Candidates:
    return [(value, about) for value, about in values if value.startswith(incomplete)]


def complete_format(incomplete: str) -> Candidates:
    from batchctl.core.results.options import FORMATS

    about = {"jsonl": "JSON lines: the API's results, unchanged", "csv": "one row per request"}
    return _matching(((f, about.get(f, "")) for f in FORMATS), incomplete)


def complete_order(incomplete: str) -> Candidates:
    from batchctl.core.results.options import ORDERS

    about = {"api": "as the API sends them", "input": "the request file's order"}
    return _matching(((o, about.get(o, "")) for o in ORDERS), incomplete)


def _listed(values: Iterable[str], about: str, incomplete: str) -> Candidates:
    """A comma-separated list of ``values``: the ones not given yet, after those given."""
    given, comma, _ = incomplete.rpartition(",")
    head = given + comma
    chosen = set(given.split(",")) if given else set()
    return _matching(((head + v, about) for v in values if v not in chosen), incomplete)


def complete_only(incomplete: str) -> Candidates:
    from batchctl.core.results.blocks import RESULT_TYPES

    return _listed(RESULT_TYPES, "result type", incomplete)


def complete_columns(incomplete: str) -> Candidates:
    from batchctl.core.results.csvout import ANSWER_COLUMNS

    return _listed(ANSWER_COLUMNS, "answer column", incomplete)


def complete_extract(incomplete: str) -> Candidates:
    return _matching([("json", "the first tool_use input, else the JSON in the text"),
                      ("tool:", "tool:NAME, that tool's input")], incomplete)


def complete_api_version(incomplete: str) -> Candidates:
    from batchctl.core.requests.ruletable import DEFAULT_API_VERSION, OLD_API_VERSION

    return _matching([(DEFAULT_API_VERSION, "the SDK's, the default"),
                      (OLD_API_VERSION, "accepts temperature, top_p and top_k")], incomplete)


def complete_store(incomplete: str) -> Candidates:
    return _matching([("sqlite", "a file under the state directory (the default)"),
                      ("postgresql://", "a PostgreSQL URL, shared by several machines")],
                     incomplete)


def complete_cache(incomplete: str) -> Candidates:
    return _matching([("off", "send the requests as written (the default)"),
                      ("auto", "mark each group's shared prefix for prompt caching")], incomplete)
