"""`batchctl cancel ID|JOB ...`: stop batches that are still processing."""

from __future__ import annotations

import typer

from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.flags import FLAGS
from batchctl.cli.options import JsonOpt, RefsArg, YesOpt
from batchctl.cli.parsed import ConfirmOptions
from batchctl.cli.render import output
from batchctl.cli.render.events import api_notices
from batchctl.cli.render.shared import confirm_or_stop


def cancel(ctx: typer.Context, refs: RefsArg, yes: YesOpt = False, json_: JsonOpt = False) -> None:
    """Cancel batches still in progress (asks first on a terminal; --yes without one).

    Requests not yet processed end canceled (not billed); results of the others are kept. A
    batch that has already ended (or is already canceling) is reported, not an error (exit 0).
    """
    run_parsed(ctx, run, ConfirmOptions(refs, yes, json_))


def run(actx: AppContext, opts: ConfirmOptions) -> None:
    from batchctl.core.tracking import actions

    planned = actions.plan(actx, opts.refs, base_url=actx.settings.base_url, flags=FLAGS)
    confirm_or_stop(actx, "cancel", planned.ids,
                    "Requests not yet processed will end canceled.", yes=opts.yes)
    with api_notices(actx):
        outcomes = actions.cancel_planned(actx, planned)
    for o in outcomes:
        if o.action == actions.CANCELING:
            output.success(actx, f"{o.id}: cancel requested; it is canceling")
        elif o.action == actions.ALREADY_CANCELING:
            output.info(actx, f"{o.id} is already canceling; nothing to do")
        else:
            output.info(actx, f"{o.id} has already ended; nothing to cancel")
    if opts.json:
        output.write_json(o.record for o in outcomes)
    elif not actx.stdout_tty:
        output.write_lines(o.id for o in outcomes if o.action == actions.CANCELING)


def register(app: typer.Typer) -> None:
    app.command("cancel")(cancel)
