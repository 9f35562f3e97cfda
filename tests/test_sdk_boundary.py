"""DESIGN.md: `core/api.py` is the only module that imports anthropic (about a second of
start-up), so every other module can be imported without it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "batchctl"


def _imports_anthropic(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name == "anthropic" or a.name.startswith("anthropic.") for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (
            node.module == "anthropic" or (node.module or "").startswith("anthropic.")
        ):
            return True
    return False


def test_only_core_api_imports_anthropic() -> None:
    importers = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if _imports_anthropic(ast.parse(path.read_text(encoding="utf-8")))
    )
    assert importers == ["core/api.py"]
