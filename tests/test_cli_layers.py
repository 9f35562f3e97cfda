"""The CLI's layering, read from the source: command modules never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

from batchctl.cli.app import COMMAND_MODULES

CLI = Path(__file__).resolve().parent.parent / "batchctl" / "cli"


def _imported_cli_modules(path: Path) -> set[str]:
    """Every batchctl.cli.<name> a module imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            # `from batchctl.cli import results` names the module in the alias
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["batchctl", "cli"] and len(parts) >= 3:
                found.add(parts[2])
    return found


def test_command_modules_are_the_registered_ones() -> None:
    for name in COMMAND_MODULES:
        assert (CLI / f"{name}.py").is_file(), name


def test_no_command_module_imports_another() -> None:
    commands = set(COMMAND_MODULES)
    offences = {
        name: sorted((_imported_cli_modules(CLI / f"{name}.py") & commands) - {name})
        for name in COMMAND_MODULES
    }
    assert {k: v for k, v in offences.items() if v} == {}


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from batchctl.cli import results as r\n"
                      "    from batchctl.cli.submit import x\n")
    assert _imported_cli_modules(module) == {"results", "submit"}
