"""The house's size rule (issue 10 item 4), read from the source: no module in batchctl/ over
about 400 lines, no class over about 200. The limits below leave a little slack over "about"."""

from __future__ import annotations

import ast

from tests.support.paths import PACKAGE

MAX_MODULE_LINES = 420
MAX_CLASS_LINES = 210


def _sizes() -> tuple[dict[str, int], dict[str, int]]:
    """Lines per module and per class (``module.py:Class``), for every module in batchctl/."""
    modules: dict[str, int] = {}
    classes: dict[str, int] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        source = path.read_text(encoding="utf-8")
        modules[name] = len(source.splitlines())
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno is not None
                classes[f"{name}:{node.name}"] = node.end_lineno - node.lineno + 1
    return modules, classes


def test_no_module_over_the_limit() -> None:
    modules, _ = _sizes()
    too_long = {name: lines for name, lines in modules.items() if lines > MAX_MODULE_LINES}
    assert too_long == {}


def test_no_class_over_the_limit() -> None:
    _, classes = _sizes()
    too_long = {name: lines for name, lines in classes.items() if lines > MAX_CLASS_LINES}
    assert too_long == {}


def test_the_walk_sees_modules_in_subpackages_and_their_classes() -> None:
    modules, classes = _sizes()
    assert "emulator/app.py" in modules and "core/api/client.py" in modules
    assert classes["core/api/client.py:Api"] > 100
