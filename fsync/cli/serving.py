"""`fsync serve`, `fsync services`, `fsync logs export`: the HTTP feature server, the feature services it
serves, and the export of the served-value log (the logic lives in fsync.serving)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from fsync.cli.options import json_option, project_options, store_options, warehouse_options
from fsync.cli.output import echo_json
from fsync.cli.runtime import handle_errors, invocation
from fsync.errors import FsyncError
from fsync.monitoring.push_log import DEFAULT_PUSH_TABLE, export_push_log
from fsync.serving import FeatureStore
from fsync.serving.export import DEFAULT_TABLE, Destination, ParquetDestination, WarehouseDestination, export


def feature_store(flags: dict[str, Any]) -> FeatureStore:
    """The SDK over the project the flags name (the settings of this run)."""
    run = invocation(flags)
    settings = {k: v for k, v in vars(run.settings).items() if k != "project_dir"}
    return FeatureStore(run.settings.project_dir, env={}, **settings)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--reload-manifest",
    "reload_seconds",
    type=float,
    help="Every SECONDS, read the registry again if manifest.json changed (SIGHUP reloads at once).",
)
@project_options
@warehouse_options
@store_options
@handle_errors
def serve_cmd(host: str, port: int, reload_seconds: float | None, **flags: Any) -> int:
    """Serve online features over HTTP, in Feast's protocol: POST /get-online-features, GET /health,
    GET /services."""
    from fsync.serving.server import serve

    if not 0 <= port <= 65535:
        raise FsyncError(f"--port {port} is not a TCP port (0-65535).")
    if reload_seconds is not None and reload_seconds <= 0:
        raise FsyncError(f"--reload-manifest {reload_seconds} must be a positive number of seconds.")
    fs = feature_store(flags)
    fs.store.ping()  # an unreachable store is exit 3 now, not a 503 on every request
    for name, problem in sorted(fs.services.problems.items()):
        click.echo(f"fsync serve: warning: service {name} cannot be served: {problem}", err=True)
    click.echo(
        f"fsync serve: http://{host}:{port} ({len(fs.services.services)} feature services,"
        f" store {fs.store.describe()})",
        err=True,
    )
    serve(fs, host, port, reload_seconds)
    return 0


@click.command("services")
@project_options
@json_option
@handle_errors
def services_cmd(as_json: bool, **flags: Any) -> int:
    """The feature services: every training set, and exposures with meta.feature_service."""
    fs = feature_store(flags)
    services = [s.to_dict() for s in fs.list_services()]
    if as_json:
        echo_json({"services": services, "problems": fs.services.problems})
        return 1 if fs.services.problems else 0
    for s in services:
        log = f", logged {s['log_rate']:.0%}" if s["log_rate"] else ""
        click.echo(f"{s['name']} ({s['kind']}{log}): keys {', '.join(s['entity_keys'])}")
        for v in s["views"]:
            click.echo(f"    {v['view']} (ttl {v['ttl']}): {', '.join(v['columns'])}")
    for name, problem in sorted(fs.services.problems.items()):
        click.echo(f"{name}: cannot be served: {problem}", err=True)
    return 1 if fs.services.problems else 0


@click.group("logs")
def logs_group() -> None:
    """The served-value log: what the SDK and the server served (export)."""


@logs_group.command("export")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of Parquet files, one per batch (served_<first id>_<last id>.parquet).",
)
@click.option("--to-warehouse", is_flag=True, help="Append to a warehouse table (see --table).")
@click.option(
    "--table",
    default=DEFAULT_TABLE,
    show_default=True,
    help="Warehouse table [SCHEMA.]NAME for --to-warehouse (declare it as a dbt source).",
)
@click.option("--batch-size", type=int, default=5000, show_default=True, help="Log entries per batch.")
@click.option(
    "--push-log",
    is_flag=True,
    help="Also export the push log (setting push_log) to the warehouse table --push-table.",
)
@click.option(
    "--push-table",
    default=DEFAULT_PUSH_TABLE,
    show_default=True,
    help="Warehouse table [SCHEMA.]NAME of the push log (point_in_time_join's available_at reads it).",
)
@project_options
@warehouse_options
@store_options
@json_option
@handle_errors
def logs_export_cmd(
    out: Path | None,
    to_warehouse: bool,
    table: str,
    batch_size: int,
    push_log: bool,
    push_table: str,
    as_json: bool,
    **flags: Any,
) -> int:
    """Drain the served-value log into Parquet files and/or a warehouse table, exactly once (each
    destination keeps its watermark with the data; the log is trimmed only after the export is durable)."""
    if out is None and not to_warehouse:
        raise FsyncError("give --out DIR and/or --to-warehouse.")
    if push_log and not to_warehouse:
        raise FsyncError("--push-log exports into the warehouse: add --to-warehouse.")
    run = invocation(flags)
    from fsync.online.stores import open_store

    destinations: list[Destination] = []
    store = open_store(run.settings)
    try:
        if out is not None:
            destinations.append(ParquetDestination(out))
        if to_warehouse:
            destinations.append(WarehouseDestination(run.warehouse, table))
        summary = export(store, destinations, batch_size)
        pushes = export_push_log(store, run.warehouse, push_table) if push_log else None
    finally:
        for d in destinations:
            d.close()
        store.close()
    if as_json:
        echo_json({**summary.to_dict(), **({"push_log": pushes.to_dict()} if pushes else {})})
    else:
        if pushes is not None:
            click.echo(f"exported the push log: {pushes.rows} pushed entities to warehouse:{pushes.table}")
        click.echo(
            f"exported {summary.entries} requests ({summary.rows} rows) in {summary.batches} batches to"
            f" {', '.join(summary.destinations)}; trimmed {summary.trimmed}, {summary.remaining} left"
        )
    return 0


COMMANDS = (serve_cmd, services_cmd, logs_group)
