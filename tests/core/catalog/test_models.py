"""`batchctl models` and the model catalogue behind the request checks: read from the Models API
through the SDK over HTTP (the emulator's GET /v1/models), cached per base URL in the state store
on both backends for a day on the injected clock, refreshed when asked, and the packaged table,
with its date, when the API can't be asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from batchctl.core.catalog.models import packaged_table
from batchctl.core.location import parse_store
from batchctl.core.models.catalogue import MAX_AGE
from batchctl.core.state.store import Store
from tests.helpers import invoke
from tests.support.emulators import model_info, write_models
from tests.support.runs import on

AS_OF = packaged_table()["as_of"]
SHOT_120 = """\
ID                          LIFECYCLE   RETIRES     MAX_TOKENS  MAX_INPUT  BATCH  THINKING
claude-fable-5-2            active                  128k        1M         yes    adaptive, disabled, ena…
claude-sonnet-4-5-20250929  deprecated  2026-11-30  128k        1M         yes    adaptive, disabled, ena…
claude-3-haiku-20240307     retired     2026-04-20  4,096       200k       yes    adaptive, disabled, ena…"""
SHOT_80 = """\
ID                          LIFECYCLE   RETIRES     MAX_TOKENS  MAX_INPUT  BATCH
claude-fable-5-2            active                  128k        1M         yes
claude-sonnet-4-5-20250929  deprecated  2026-11-30  128k        1M         yes
claude-3-haiku-20240307     retired     2026-04-20  4,096       200k       yes"""
SHOT_60 = """\
ID                          LIFECYCLE   MAX_TOKENS  BATCH
claude-fable-5-2            active      128k        yes
claude-sonnet-4-5-20250929  deprecated  128k        yes
claude-3-haiku-20240307     retired     4,096       yes"""
JSON_KEYS = ["id", "display_name", "line", "lifecycle", "created_at", "deprecated_at",
             "retires_at", "max_tokens", "max_input_tokens", "batch", "image_input", "pdf_input",
             "structured_outputs", "thinking_types", "effort_levels", "catalogue", "as_of"]


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def cached_at(state_dir: Path, base_url: str, store: str = "sqlite") -> float | None:
    """When the store's catalogue of ``base_url`` was fetched (None: there is none)."""
    opened = Store.open(state_dir, location=parse_store(store))
    try:
        found = opened.cached_catalogue(base_url)
    finally:
        opened.close()
    return None if found is None else found[0]


def test_models_lists_the_apis_catalogue_retired_ones_with_all(cli: Any, emulator: Any) -> None:
    result = cli("models", "--json")
    assert result.exit_code == 0, result.stderr
    models = lines(result.stdout)
    ids = [m["id"] for m in models]
    assert ids[:2] == ["claude-fable-5-2", "claude-mythos-5-2"]  # most recent first
    assert "claude-sonnet-4-5-20250929" not in ids
    assert all(list(m) == JSON_KEYS for m in models)  # stable keys, in this order
    assert {m["catalogue"] for m in models} == {"api"}
    opus5 = next(m for m in models if m["id"] == "claude-opus-5")
    assert opus5["thinking_types"] == ["adaptive", "between_tools", "disabled"]
    assert opus5["batch"] is True and opus5["max_tokens"] == 128_000
    every = lines(cli("models", "--json", "--all").stdout)
    retired = [m for m in every if m["lifecycle"] == "retired"]
    assert "claude-sonnet-4-5-20250929" in [m["id"] for m in retired]
    assert next(m for m in retired if m["id"] == "claude-sonnet-4-5-20250929")["retires_at"] \
        == "2026-11-30T00:00:00Z"
    assert result.stderr == ""  # piped: nothing to say


def test_piped_rows_are_tab_separated_in_a_stable_order(cli: Any) -> None:
    result = cli("models")
    assert result.exit_code == 0, result.stderr
    first = result.stdout.splitlines()[0].split("\t")
    assert first == ["claude-fable-5-2", "Claude Fable 5.2", "active", "", "128000", "1000000",
                     "yes", "adaptive,between_tools,disabled"]


def test_the_catalogue_is_cached_a_day_per_base_url_and_refreshed_when_asked(
    make_emulator: Any, clock: Any, state_dir: Path, store_value: str
) -> None:
    emulator = make_emulator()
    env = {"BATCHCTL_STORE": store_value}
    assert on(emulator, clock, "models", env=env).exit_code == 0
    first = clock.time()
    assert cached_at(state_dir, emulator.base_url, store_value) == first
    clock.advance(MAX_AGE - 60)  # within the day: the cache serves
    assert on(emulator, clock, "models", env=env).exit_code == 0
    assert cached_at(state_dir, emulator.base_url, store_value) == first
    assert on(emulator, clock, "models", "--refresh", env=env).exit_code == 0
    assert cached_at(state_dir, emulator.base_url, store_value) == clock.time()
    clock.advance(MAX_AGE + 1)  # a day old: fetched again
    assert on(emulator, clock, "models", env=env).exit_code == 0
    assert cached_at(state_dir, emulator.base_url, store_value) == clock.time()
    other = make_emulator()  # another base URL: its own cache
    assert cached_at(state_dir, other.base_url, store_value) is None


def test_a_fresh_cache_serves_without_the_api_and_a_stale_one_says_so(
    make_emulator: Any, clock: Any
) -> None:
    emulator = make_emulator()
    assert on(emulator, clock, "models").exit_code == 0
    emulator.stop()  # nothing listens there any more
    fresh = on(emulator, clock, "models", "--json")
    assert fresh.exit_code == 0 and fresh.stderr == ""
    assert {m["catalogue"] for m in lines(fresh.stdout)} == {"cache"}
    clock.advance(MAX_AGE + 1)
    stale = on(emulator, clock, "models", "--json")
    assert stale.exit_code == 0
    assert stale.stderr.startswith("warning: the Models API could not be asked (could not "
                                   "connect to ")
    assert "using the catalogue cached 2026-09-21 " in stale.stderr
    assert {m["catalogue"] for m in lines(stale.stdout)} == {"cache"}


def test_without_a_key_the_packaged_table_serves_and_says_its_date(state_dir: Path) -> None:
    result = invoke(["models", "--json"])
    assert result.exit_code == 0
    assert result.stderr == (f"warning: the Models API could not be asked (no API key: set "
                             f"ANTHROPIC_API_KEY): using the packaged model table as of {AS_OF}\n")
    models = lines(result.stdout)
    assert {m["catalogue"] for m in models} == {"packaged"} and {m["as_of"] for m in models} == {AS_OF}
    assert models[0]["id"] == "claude-fable-5-2"


def test_the_in_process_emulator_is_asked_like_the_api(clock: Any) -> None:
    result = invoke(["--emulator", "models", "--json"], clock=clock)
    assert result.exit_code == 0, result.stderr
    assert {m["catalogue"] for m in lines(result.stdout)} == {"api"}


def test_what_the_models_api_sends_is_checked_before_use(
    make_emulator: Any, clock: Any, tmp_path: Path
) -> None:
    hostile = write_models(tmp_path / "m.json", model_info("claude-evil\x1b[31m-1"))
    emulator = make_emulator(models=hostile)
    result = on(emulator, clock, "models")
    assert result.exit_code == 0
    assert "\x1b" not in result.stderr + result.stdout
    assert "not of a model id's shape: 'claude-evil\\x1b[31m-1'" in result.stderr
    assert f"using the packaged model table as of {AS_OF}" in result.stderr


def test_a_catalogue_from_a_file_is_what_models_shows(
    make_emulator: Any, clock: Any, tmp_path: Path
) -> None:
    path = write_models(tmp_path / "m.json", model_info("claude-brand-new-9"),
                        model_info("claude-old-1", lifecycle="retired",
                                   retires_at="2026-01-01T00:00:00Z"))
    emulator = make_emulator(models=path)
    shown = lines(on(emulator, clock, "models", "--json", "--all").stdout)
    assert [(m["id"], m["lifecycle"]) for m in shown] == [("claude-brand-new-9", "active"),
                                                          ("claude-old-1", "retired")]


def test_the_table_fits_60_80_and_120_columns(make_emulator: Any, clock: Any, tmp_path: Path,
                                              state_dir: Path) -> None:
    from tests.cli.test_tables import screen

    path = write_models(
        tmp_path / "m.json",
        model_info("claude-fable-5-2", display_name="Claude Fable 5.2"),
        model_info("claude-sonnet-4-5-20250929", display_name="Claude Sonnet 4.5",
                   lifecycle="deprecated", retires_at="2026-11-30T00:00:00Z"),
        model_info("claude-3-haiku-20240307", display_name="Claude Haiku 3", max_tokens=4096,
                   max_input_tokens=200_000, lifecycle="retired",
                   retires_at="2026-04-20T00:00:00Z"))
    emulator = make_emulator(models=path)
    shots = {}
    for width in (60, 80, 120):
        result = on(emulator, clock, "models", "--all", tty=True, width=width)
        assert result.exit_code == 0, result.stderr
        shots[width] = screen(result.stdout)
        assert all(len(line) <= width for line in shots[width].splitlines())
    assert shots[120] == SHOT_120
    assert shots[80] == SHOT_80
    assert shots[60] == SHOT_60
