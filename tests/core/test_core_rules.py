"""What every function of batchctl/core holds to, read from the source (issue 22, item 2):

- at most MAX_PARAMETERS parameters (all of them: positional, keyword-only, ``*args`` and
  ``**kwargs``; a method's ``self`` or ``cls`` aside);
- no UI callback. The rule: core reports by what it returns and yields (``core/events.py``),
  so no parameter of a core function may be a function its caller hands in to be told things.
  That is checked two ways: no parameter is named like one (``CALLBACK_NAMES``, or ``on_...``),
  and none is annotated as a callable (``Callable[...]``) unless it is in ``INTERNAL``: a
  callable that core itself passes, each with why it never comes from the CLI;
- no environment read: neither ``os.environ`` nor ``getenv`` (the caller reads the
  environment and passes the values in);
- no flag named on its own: no string of core but a docstring holds ``--name`` (a message
  takes the caller's name for an option, ``core/flags.py``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from tests.support.paths import PACKAGE

CORE = PACKAGE / "core"
MAX_PARAMETERS = 8
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")

#: Names a callback that reports to the caller goes by.
CALLBACK_NAMES = frozenset({"notify", "say", "confirm", "progress", "explain", "shown",
                            "view_for", "sink", "write", "callback", "report", "emit"})

#: Callable parameters core passes to itself (module:function:parameter), and why each never
#: comes from the CLI.
INTERNAL: dict[str, str] = {
    "fork.py:beside:work": "the check a workflow runs in a forked child",
    "fork.py:beside:meanwhile": "what a workflow does in the parent meanwhile (Deps.preload_api)",
    "api/client.py:Api.create:chunks": "the create body, streamed again on every attempt",
    "api/client.py:Api._riding_404:call": "the API call retried while a 404 is ridden out",
    "api/client.py:call:fn": "the SDK call whose errors become batchctl's",
    "api/client.py:Api._call:fn": "the SDK call, a 503 storage_not_ready waited out around it",
    "api/patience.py:riding_404:call": "the API call retried while a 404 is ridden out",
    "api/patience.py:riding_storage:call": "the API call asked again while storage is not ready",
    "api/transport.py:RequestBody.__init__:chunks": "the create body, re-read on each send",
    "api/transport.py:guard_hooks:refuse": "makes the API layer's exception for a refusal",
    "state/claims.py:ClaimRecords.claim:is_stale": "collect's test of a claim row's owner",
    "state/claims.py:ClaimRecords._claim:is_stale": "collect's test of a claim row's owner",
}


def _functions(tree: ast.Module) -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
    """``(qualified name, node, is a method)`` of every function, nested ones included."""

    def walk(node: ast.AST, prefix: str, in_class: bool) -> Iterator[
            tuple[str, ast.FunctionDef | ast.AsyncFunctionDef, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                yield name, child, in_class
                yield from walk(child, f"{name}.", False)
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.", True)
            else:
                yield from walk(child, prefix, in_class)

    yield from walk(tree, "", False)


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> list[ast.arg]:
    a = node.args
    found = [*a.posonlyargs, *a.args, *a.kwonlyargs]
    found += [x for x in (a.vararg, a.kwarg) if x is not None]
    if method and found and found[0].arg in ("self", "cls"):
        found = found[1:]
    return found


def _is_callable(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    text = ast.unparse(annotation)
    return "Callable" in text


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(CORE.rglob("*.py")):
        yield path.relative_to(CORE).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def offences(modules: Iterator[tuple[str, ast.Module]]) -> list[str]:
    found = []
    for module, tree in modules:
        for name, node, method in _functions(tree):
            params = _parameters(node, method)
            if len(params) > MAX_PARAMETERS:
                found.append(f"{module}:{name}: {len(params)} parameters")
            for p in params:
                key = f"{module}:{name}:{p.arg}"
                if p.arg in CALLBACK_NAMES or p.arg.startswith("on_") or p.arg.endswith(
                        "_callback"):
                    found.append(f"{key}: named like a callback")
                elif _is_callable(p.annotation) and key not in INTERNAL:
                    found.append(f"{key}: a callable")
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in docstrings and FLAG.search(node.value)):
                found.append(f"{module}:{node.lineno}: names {FLAG.search(node.value)[0]}")
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
                found.append(f"{module}:{node.lineno}: os.{node.attr}")
            elif isinstance(node, ast.ImportFrom) and node.module == "os":
                for alias in node.names:
                    if alias.name in ("environ", "getenv"):
                        found.append(f"{module}:{node.lineno}: from os import {alias.name}")
    return found


def test_core_functions_hold_to_the_rules() -> None:
    assert offences(_modules()) == []


def test_the_internal_callables_exist() -> None:
    seen = {f"{module}:{name}:{p.arg}" for module, tree in _modules()
            for name, node, method in _functions(tree) for p in _parameters(node, method)}
    assert sorted(set(INTERNAL) - seen) == []


def test_the_check_sees_each_kind_of_offence() -> None:
    source = (
        "import os\n"
        "from os import getenv\n"
        "from collections.abc import Callable\n"
        "def run(a, b, c, d, e, f, g, h, *rest): ...\n"
        "def wait(deps, *, notify): ...\n"
        "def send(deps, on_retry=None): ...\n"
        "def export(deps, shown: Callable[[int], None]): ...\n"
        "def fetch(deps, then: 'Callable[[], None] | None' = None): ...\n"
        "class Api:\n"
        "    def connect(self, a, b, c, d, e, f, g, h): ...\n"
        "KEY = os.environ.get('KEY')\n"
        "def check(n):\n"
        "    '--max-cost in a docstring is fine'\n"
        "    raise ValueError(f'--max-cost {n} is too low')\n"
    )
    found = offences(iter([("m.py", ast.parse(source))]))
    assert found == [
        "m.py:run: 9 parameters",
        "m.py:wait:notify: named like a callback",
        "m.py:send:on_retry: named like a callback",
        "m.py:export:shown: named like a callback",
        "m.py:fetch:then: a callable",
        "m.py:2: from os import getenv",
        "m.py:11: os.environ",
        "m.py:14: names --max-cost",
    ]
