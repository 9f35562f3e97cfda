"""`batchctl delete ID|JOB ...`: delete ended batches (the store keeps them, marked deleted)."""

from __future__ import annotations

import typer

from batchctl.cli.context import AppContext, run_parsed
from batchctl.cli.flags import FLAGS
from batchctl.cli.options import JsonOpt, RefsArg, YesOpt
from batchctl.cli.parsed import ConfirmOptions
from batchctl.cli.render import output
from batchctl.cli.render.events import api_notices
from batchctl.cli.render.shared import confirm_or_stop


def delete(ctx: typer.Context, refs: RefsArg, yes: YesOpt = False, json_: JsonOpt = False) -> None:
    """Delete ended batches and their results from the API (asks first on a terminal; --yes
    without one).

    Only ended batches can be deleted: if one is still running, nothing is deleted and the exit
    is 8 (cancel it first). The state store keeps each batch's record, marked deleted.
    """
    run_parsed(ctx, run, ConfirmOptions(refs, yes, json_))


def run(actx: AppContext, opts: ConfirmOptions) -> None:
    from batchctl.core.tracking import actions
    from batchctl.core.tracking.gone import deleted_text

    planned = actions.plan(actx, opts.refs, base_url=actx.settings.base_url, flags=FLAGS)
    confirm_or_stop(actx, "delete", planned.ids,
                    "Results that were not downloaded are gone for good.", yes=opts.yes)
    with api_notices(actx):
        outcomes = actions.delete_planned(actx, planned)
    for o in outcomes:
        if o.action == actions.DELETED:
            output.success(actx, f"{o.id}: deleted")
        else:
            output.info(actx, f"{deleted_text(o.id, o.record.get('deleted_at'))}; nothing to do")
    if opts.json:
        output.write_json(o.record for o in outcomes)
    elif not actx.stdout_tty:
        output.write_lines(o.id for o in outcomes if o.action == actions.DELETED)


def register(app: typer.Typer) -> None:
    app.command("delete")(delete)
