"""The emulator is its own reading of the API: it imports nothing from batchctl's client
(batchctl.core, batchctl.cli), so a wrong reading in the client is not repeated in it (issue #22,
item 4; DESIGN.md, Layout). Every import counts, function-level ones included."""

from __future__ import annotations

import ast
from pathlib import Path

import batchctl.emulator

EMULATOR = Path(batchctl.emulator.__file__).parent
FORBIDDEN = ("batchctl.core", "batchctl.cli")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module)]
            # ``from batchctl import core`` names the package too
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level >= 2:  # ``from .. import core``
            found += [(node.lineno, "batchctl." + (node.module or alias.name)) for alias in node.names]
    return found


def _forbidden(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_the_emulator_imports_nothing_from_the_client() -> None:
    modules = sorted(EMULATOR.glob("*.py"))
    assert len(modules) > 10  # the walk sees the package
    bad = [f"{path.name}:{line}: {name}" for path in modules
           for line, name in _imports(ast.parse(path.read_text("utf-8"), str(path)))
           if _forbidden(name)]
    assert bad == [], "the emulator imports batchctl's client code:\n" + "\n".join(bad)


def test_the_walk_finds_each_kind_of_import() -> None:
    source = ("import batchctl.core.api\nfrom batchctl.cli import app\nfrom batchctl import core\n"
              "def f():\n    from batchctl.core.requests.rules import Rules\n"
              "from .. import cli\nimport batchctl.emulator.wire\n")
    lines = sorted({line for line, name in _imports(ast.parse(source)) if _forbidden(name)})
    assert lines == [1, 2, 3, 5, 6]  # not line 7, the emulator's own module
