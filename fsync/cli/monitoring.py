"""`fsync freshness`, `fsync skew`: is what is served fresh, and is it what the warehouse says it should be
(the logic lives in fsync.monitoring)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fsync.cli.options import as_of_option, json_option, project_options, store_options, warehouse_options
from fsync.cli.output import echo_json
from fsync.cli.runtime import handle_errors, invocation
from fsync.cli.serving import feature_store
from fsync.errors import FsyncError
from fsync.monitoring.freshness import freshness_report, select_views
from fsync.monitoring.skew import read_served_log, skew_report
from fsync.online.stores import open_store
from fsync.serving.export import DEFAULT_TABLE
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


@click.command("skew")
@click.option("--since", help="Replay the reads served from this instant on (ISO timestamp, UTC if naive).")
@click.option("--service", help="Replay the reads of this feature service only.")
@click.option(
    "--threshold",
    type=float,
    default=0.0,
    show_default=True,
    help="Exit 1 when a feature's mismatch rate (1 - exact-match rate) exceeds this (0: any mismatch).",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Read the log exported by `fsync logs export --out DIR` (default: the warehouse table).",
)
@click.option(
    "--table",
    default=DEFAULT_TABLE,
    show_default=True,
    help="Warehouse table [SCHEMA.]NAME of `fsync logs export --to-warehouse`.",
)
@project_options
@warehouse_options
@json_option
@handle_errors
def skew_cmd(
    since: str | None,
    service: str | None,
    threshold: float,
    log_dir: Path | None,
    table: str,
    as_json: bool,
    **flags: Any,
) -> int:
    """Online/offline skew: replay the exported served-value log with the same point_in_time_join (as of
    each read's instant, with the view's TTL) and compare, per feature: compared rows, exact-match rate,
    missing/extra, mean absolute and relative difference, the worst keys. Exit 1 above --threshold."""
    start = parse_as_of(since) if since is not None else None
    fs = feature_store(flags)
    try:
        warehouse = None if log_dir is not None else fs.warehouse
        source, records = read_served_log(warehouse, table, log_dir, start, service)
        report = skew_report(fs, records, source, start, service, threshold)
    finally:
        fs.close()
    if as_json:
        echo_json(report.to_dict())
        return report.exit_code
    click.echo(f"fsync skew: {report.rows} served rows from {report.source} replayed")
    for f in report.features:
        flag = "SKEW" if f in report.failing else "ok"
        diff = f.to_dict()
        extra = f", mean abs diff {diff['mean_abs_diff']:.6g}" if diff["mean_abs_diff"] else ""
        click.echo(
            f"  {f.view}:{f.feature}: {flag} {f.exact_match_rate:.2%} exact ({f.compared} compared,"
            f" {f.mismatches} differ, {f.missing} missing, {f.extra} extra{extra})"
        )
        for w in f.worst if f in report.failing else []:
            click.echo(
                f"      key {w['entity_key']} at {w['served_now'].isoformat()}: served {w['served']!r},"
                f" expected {w['expected']!r}"
            )
    for view, n in report.feature_ts_mismatches.items():
        if n:
            click.echo(f"  {view}: {n} rows served another feature_ts than the join's (a late push?)")
    return report.exit_code


COMMANDS = (freshness_cmd, skew_cmd)
