"""ARCHITECTURE.md is the project's map: every package it names exists, and every package of
batchctl is named in it (as a codemap heading), so a move that forgets the map fails here."""

from __future__ import annotations

import re

from tests.support.paths import ROOT

MAP = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


def _packages() -> set[str]:
    return {
        init.parent.relative_to(ROOT).as_posix() + "/"
        for init in (ROOT / "batchctl").rglob("*/__init__.py")
    }


def _named() -> set[str]:
    """Every ``batchctl/...`` path the map names: headings and running text alike."""
    return set(re.findall(r"`(batchctl/[\w/]*?/)`", MAP))


def test_every_package_named_in_the_map_exists() -> None:
    missing = sorted(name for name in _named() if not (ROOT / name / "__init__.py").is_file())
    assert missing == [], f"ARCHITECTURE.md names packages that do not exist: {missing}"


def test_every_package_has_a_codemap_heading() -> None:
    headings = set(re.findall(r"^### `(batchctl/[\w/]*/)`$", MAP, flags=re.MULTILINE))
    absent = sorted(_packages() - headings)
    assert absent == [], f"packages missing from ARCHITECTURE.md's codemap: {absent}"


def test_the_map_names_the_modules_it_places() -> None:
    """A module the codemap names under a package heading is a file in that package."""
    wrong = []
    for heading, body in re.findall(r"^### `(batchctl/[\w/]*/)`\n(.*?)(?=^### |^## )", MAP,
                                    flags=re.MULTILINE | re.DOTALL):
        for module in re.findall(r"`([a-z_*]+\.py)`", body):
            if "*" in module:
                if not list((ROOT / heading).glob(module)):
                    wrong.append(heading + module)
            elif not (ROOT / heading / module).is_file():
                wrong.append(heading + module)
    assert wrong == [], f"ARCHITECTURE.md places modules that are not there: {wrong}"
