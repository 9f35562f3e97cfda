"""The CLI's layering, read from the source: each command makes one core call, and render modules
never read the API. (Which package may import which is import-linter's: pyproject.toml.)"""

from __future__ import annotations

import ast
from pathlib import Path

from batchctl.cli.app import COMMAND_MODULES
from tests.support.paths import PACKAGE

CLI = PACKAGE / "cli"
COMMANDS = CLI / "commands"
RENDER = CLI / "render"


def test_command_modules_are_the_registered_ones() -> None:
    assert sorted(COMMAND_MODULES) == sorted(p.stem for p in COMMANDS.glob("[!_]*.py"))


# -- one core call per command (issue 10 item 1) ----------------------------------------------
#: Calls into batchctl.core a command may make besides its one core call: each parses the
#: command line or is text, never a step of the command. Keep this list short, and say why.
EXEMPT: dict[str, str] = {
    "batchctl.core.errors.UsageError":
        "raised for a bad combination of arguments found while parsing them",
    "batchctl.core.submit.send.Limits.parse":
        "parses --max-requests, --max-bytes and --max-cost into their checked values",
    "batchctl.core.submit.send.Checks.parse":
        "parses --api-version, --beta, --limits, --allow-unknown-model and --lift-betas",
    "batchctl.core.submit.send.Submission":
        "what submit and run send, gathered from their options into one value",
    "batchctl.core.workflows.waiting.WaitOptions":
        "wait's and run's --interval, --timeout and --exit-status, gathered into one value",
    "batchctl.core.results.report.ResultsRequest":
        "run's output options (what to write, where, the files that report it) as one value",
    "batchctl.core.workflows.retry.RetryOptions":
        "retry-failed's options, gathered into one value",
    "batchctl.core.workflows.hooks.CollectHooks":
        "collect's --exec and the environment its hooks inherit, gathered into one value",
    "batchctl.core.workflows.run.RunOptions":
        "run's options, gathered into one value: what it sends, how it waits, what it writes",
    "batchctl.core.results.options.Given":
        "the output options of results and run as given, gathered into one value",
    "batchctl.core.results.options.build_options":
        "parses the output options of results and run (format, filters, order, extraction)",
    "batchctl.core.results.options.format_for":
        "parses --format (or reads it from the extension of -o)",
    "batchctl.core.atomic.check_target":
        "checks -o as an argument (its folder exists, what kind of file it names) before "
        "anything is sent; it raises UsageError and writes nothing",
    "batchctl.core.requests.prepare_spec.PrepareSpec":
        "prepare's options, gathered into one value (the options struct)",
    "batchctl.core.requests.prepare.check_spec":
        "rejects impossible combinations of prepare's options (UsageError), reads nothing",
    "batchctl.core.tracking.actions.plan":
        "what cancel or delete would act on, resolved from the arguments in the store (no API "
        "call, nothing changed), so the CLI can ask before the one call that acts",
    "batchctl.core.tracking.gone.deleted_text":
        "text: the one sentence every command says of a deleted batch",
    "batchctl.core.tracking.gone.archived_text":
        "text: the one sentence every command says of a batch whose results were archived",
    "batchctl.core.tracking.lifecycle.batches_text":
        "text: `1 batch`, `3 batches`",
    "batchctl.core.plural.counted": "text: a count and its noun, `1 part`, `250,000 requests`",
    "batchctl.core.plural.plural": "text: the noun (or verb) that goes with a count",
}


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The imports under ``if TYPE_CHECKING:``: never called at run time (a name they bind may
    be imported for real elsewhere, e.g. rich's ``Progress`` beside core's type)."""
    return {id(node) for block in ast.walk(tree)
            if isinstance(block, ast.If) and isinstance(block.test, ast.Name)
            and block.test.id == "TYPE_CHECKING" for node in ast.walk(block)}


def _core_imports(tree: ast.Module) -> dict[str, str]:
    """Every local name bound to something of batchctl.core, with its qualified name."""
    names: dict[str, str] = {}
    skip = _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[:2] == ["batchctl", "core"]:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[:2] == ["batchctl", "core"]:
                    if alias.asname:
                        names[alias.asname] = alias.name
                    else:  # `import batchctl.core.x` binds `batchctl`: chains qualify themselves
                        names["batchctl"] = "batchctl"
    return names


def _qualified(func: ast.expr, names: dict[str, str]) -> str | None:
    """``a.b.c`` as the qualified name it calls, if ``a`` is bound to batchctl.core."""
    attrs: list[str] = []
    while isinstance(func, ast.Attribute):
        attrs.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name) and func.id in names:
        name = ".".join([names[func.id], *reversed(attrs)])
        return name if name.startswith("batchctl.core.") else None
    return None


def _is_command(node: ast.expr) -> bool:
    """``x.command(...)``: typer's command decorator."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "command")


def _registered(tree: ast.Module) -> list[str]:
    """The functions the module makes commands: ``app.command(...)(function)`` in
    ``register(app)``, or decorated with ``@sub_app.command(...)``."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(map(_is_command, node.decorator_list)):
            found.append(node.name)
    for node in ast.walk(tree):
        if (isinstance(node, ast.FunctionDef) and node.name == "register"):
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Call)
                        and isinstance(call.func.func, ast.Attribute)
                        and call.func.func.attr == "command"
                        and call.args and isinstance(call.args[0], ast.Name)):
                    found.append(call.args[0].id)
    return found


def core_calls(path: Path) -> dict[str, list[str]]:
    """Per command function of a module: the batchctl.core functions (and classes) it calls,
    itself or through the module's own functions it uses (helpers, lambdas), not exempt."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return _calls_from(tree, _registered(tree))


def _calls_from(tree: ast.Module, roots: list[str]) -> dict[str, list[str]]:
    """Per function named in ``roots``: the batchctl.core calls it makes, itself or through the
    module's own functions it uses, not exempt."""
    names = _core_imports(tree)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    out: dict[str, list[str]] = {}
    for command in roots:
        todo, seen, calls = [command], set(), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for node in ast.walk(functions[name]):
                if isinstance(node, ast.Name) and node.id in functions:
                    todo.append(node.id)  # a helper of the module: its calls count too
                elif isinstance(node, ast.Call):
                    called = _qualified(node.func, names)
                    if called is not None and called not in EXEMPT:
                        calls.add(called)
        out[command] = sorted(calls)
    return out


def test_each_command_makes_at_most_one_core_call() -> None:
    offences = {}
    for module in COMMAND_MODULES:
        for command, calls in core_calls(COMMANDS / f"{module}.py").items():
            if len(calls) > 1:
                offences[f"{module}.{command}"] = calls
    assert offences == {}


def test_every_command_module_registers_a_command_the_check_sees() -> None:
    for module in COMMAND_MODULES:
        assert core_calls(COMMANDS / f"{module}.py"), module


def test_the_exemptions_name_what_exists() -> None:
    import importlib

    for name in [*EXEMPT, *VALUES]:
        parts = name.split(".")
        for cut in range(len(parts) - 1, 1, -1):
            try:
                target: object = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                target = getattr(target, attr)
            assert callable(target), name
            break
        else:
            raise AssertionError(f"{name}: no such module")


def test_the_core_call_check_follows_helpers_lambdas_and_aliases(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import batchctl.core.clock\n"
        "from batchctl.core.workflows import status as core\n"
        "def command(ctx):\n"
        "    from batchctl.core.submit.feed import job_reports\n"
        "    from batchctl.core.errors import UsageError\n"
        "    if ctx: raise UsageError('x')\n"
        "    core.report(ctx, [])\n"
        "    cb = lambda: _helper(ctx)\n"
        "    job_reports.__name__\n"  # a reference, not a call
        "def _helper(ctx):\n"
        "    batchctl.core.clock.SystemClock()\n"
        "def register(app):\n"
        "    app.command('x')(command)\n"
    )
    assert core_calls(module) == {"command": ["batchctl.core.clock.SystemClock",
                                              "batchctl.core.workflows.status.report"]}


# -- the shared presentation holds to the rule too ---------------------------------------------
#: What the shared presentation (cli/render/shared.py, cli/render/wait_view.py) calls in core besides the one
#: step a function stands for: values it renders and the text of them, never a step.
VALUES: dict[str, str] = {
    "batchctl.core.errors.NextStep": "a hint, as the value output.suggest renders",
    "batchctl.core.tracking.lifecycle.counts": "a record's request counts, read from the record",
    "batchctl.core.tracking.lifecycle.is_ended": "whether a record says its batch ended",
    "batchctl.core.tracking.lifecycle.totals": "request counts summed over records",
    "batchctl.core.submit.feed.held_lines": "text: the lines about a job's parts not sent yet",
    "batchctl.core.times.human_duration": "text: `12m 5s`",
    "batchctl.core.plural.counted": "text: a count and its noun, `1 part`, `250,000 requests`",
    "batchctl.core.times.parse_ts": "an API timestamp as seconds",
    "batchctl.core.results.report.ResultsRequest":
        "a value: what the results step writes, where, and the files that report it",
}
SHARED = ("shared", "wait_view")
#: Modules that only render: they never read the API (no client, no advice read from results).
RENDER_ONLY = tuple(sorted(p.stem for p in RENDER.glob("[!_]*.py") if p.stem != "shared"))


def test_each_shared_presentation_function_makes_at_most_one_core_call() -> None:
    offences = {}
    for module in SHARED:
        tree = ast.parse((RENDER / f"{module}.py").read_text(encoding="utf-8"))
        functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
        for function, calls in _calls_from(tree, functions).items():
            steps = [c for c in calls if c not in VALUES]
            if len(steps) > 1:
                offences[f"{module}.{function}"] = steps
    assert offences == {}


def _reads_the_api(path: Path) -> list[str]:
    """What in a module reads the API: an import of ``batchctl.core.workflows.advice`` (it reads
    results) or a call of ``.api()`` (the client)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            found += [n for n in names if n == "batchctl.core.workflows.advice"]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name == "batchctl.core.workflows.advice"]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "api"):
            found.append(f"line {node.lineno}: .api()")
    return found


def test_render_only_modules_never_read_the_api() -> None:
    offences = {m: _reads_the_api(RENDER / f"{m}.py") for m in RENDER_ONLY}
    assert {k: v for k, v in offences.items() if v} == {}


def test_the_render_only_check_sees_advice_and_the_client(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f(actx):\n    from batchctl.core.workflows import advice\n"
                      "    return advice.retry_steps(actx.api(), [], [])\n")
    assert _reads_the_api(module) == ["batchctl.core.workflows.advice", "line 3: .api()"]


def test_the_core_call_check_skips_type_checking_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from batchctl.core.results.reading import Progress\n"
        "def command(ctx):\n"
        "    from rich.progress import Progress\n"
        "    Progress()\n"
        "def register(app):\n"
        "    app.command('x')(command)\n"
    )
    assert core_calls(module) == {"command": []}
