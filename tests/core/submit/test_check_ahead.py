"""A submit whose model catalogue must be asked of the API checks the file meanwhile against the
stand-in (the cache of any age, else the packaged table: core/submit/send.py
``_check_while_asking``); that check stands only when the answer says the same of every model
the file names, else the file is checked again against the answer."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from batchctl.core.catalog.models import Catalogue
from batchctl.core.submit.send import Checks, _same_said
from tests.support.emulators import model_info, write_models
from tests.support.files import write_params
from tests.support.runs import on

MODEL = "claude-sonnet-4-6"


def _checks(catalogue: Catalogue) -> Checks:
    from batchctl.core.requests.rules import Rules

    return Checks(Rules(models=catalogue))


def _answer(**changes: Any) -> Catalogue:
    packaged = Catalogue.packaged()
    models = [{**m, **changes} if m["id"] == MODEL else m for m in packaged.models]
    return Catalogue(models, as_of="2026-12-07 10:00Z", origin="api")


def test_the_stand_ins_check_stands_only_when_the_answer_says_the_same() -> None:
    guess = _checks(Catalogue.packaged())
    scan = SimpleNamespace(models={MODEL: 3}, warnings=[])
    assert _same_said(scan, guess, _checks(_answer()))  # type: ignore[arg-type]
    assert not _same_said(scan, guess, _checks(_answer(max_tokens=1000)))  # type: ignore[arg-type]
    retiring = _checks(_answer(lifecycle="deprecated"))
    assert not _same_said(scan, _checks(retiring.rules.models), retiring)  # type: ignore[arg-type,union-attr]
    unknown = SimpleNamespace(models={"claude-nothing-1": 1}, warnings=[])
    assert not _same_said(unknown, guess, guess)  # type: ignore[arg-type]
    said = SimpleNamespace(models={MODEL: 1},
                           warnings=[f"f:1: x [r; source: {guess.rules.models.describe()}]"])  # type: ignore[union-attr]
    assert not _same_said(said, guess, _checks(_answer()))  # type: ignore[arg-type]


def test_a_limit_the_api_lowers_refuses_what_the_packaged_table_allows(
    make_emulator: Any, clock: Any, tmp_path: Path
) -> None:
    emu = make_emulator(models=write_models(tmp_path / "models.json",
                                            model_info(MODEL, max_tokens=1000)))
    big = {"model": MODEL, "max_tokens": 2000, "messages": [{"role": "user", "content": "hi"}]}
    result = on(emu, clock, "submit", str(write_params(tmp_path / "in.jsonl", big)))
    assert result.exit_code == 3, result.stderr
    assert "source: the Models API (fetched" in result.stderr.splitlines()[1]
    assert emu.batches() == []
