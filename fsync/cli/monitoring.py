"""`fsync freshness`, `fsync skew`: is what is served fresh, and is it what the warehouse says it should be
(the logic lives in fsync.monitoring)."""

from __future__ import annotations

from typing import Any

import click

from fsync.cli.options import as_of_option, json_option, project_options, store_options, warehouse_options
from fsync.cli.output import echo_json
from fsync.cli.runtime import handle_errors, invocation
from fsync.errors import FsyncError
from fsync.monitoring.freshness import freshness_report, select_views
from fsync.online.stores import open_store
from fsync.timeutil import format_instant, parse_as_of
from fsync.warehouse import open_reader


@click.command("freshness")
@click.option(
    "--select",
    "-s",
    "select",
    multiple=True,
    help="View to check: name (every version) or name@N (repeatable; default: every feature view).",
)
@as_of_option("Check as of this instant (ISO timestamp, UTC if naive). Default: the wall clock.")
@click.option("--offline", is_flag=True, help="Check the warehouse only, not the online store.")
@project_options
@warehouse_options
@store_options
@json_option
@handle_errors
def freshness_cmd(
    select: tuple[str, ...], as_of: str | None, offline: bool, as_json: bool, **flags: Any
) -> int:
    """Is every feature view within its freshness_sla? Per view and version: the last push, the newest
    feature_ts in the warehouse and online (rows after --as-of do not count), the entities served, and ok /
    warn (>= 80% of the SLA) / breach. Exit 1 on any breach."""
    run = invocation(flags)
    views = select_views(run.manifest, select)
    if not views:
        raise FsyncError("no feature views in the manifest (models with config meta.feature_view).")
    when = parse_as_of(as_of)
    reader = open_reader(run.warehouse)
    try:
        store = None if offline else open_store(run.settings)
        try:
            report = freshness_report(views, reader, store, when)
        finally:
            if store is not None:
                store.close()
    finally:
        reader.close()
    if as_json:
        echo_json(report.to_dict())
        return report.exit_code
    where = f"store {report.store}" if report.store else "the warehouse only"
    click.echo(f"fsync freshness as of {report.as_of.isoformat()} ({where})")
    for v in report.views:
        online = ""
        if v.online_status is not None:
            pushed = format_instant(v.last_push_as_of) if v.last_push_as_of else "never"
            online = f", {v.entities_online} entities online, last push {pushed}"
        click.echo(f"  {v.view}: {v.status.upper()} (SLA {v.freshness_sla or '?'}{online}) - {v.message}")
    return report.exit_code


COMMANDS = (freshness_cmd,)
