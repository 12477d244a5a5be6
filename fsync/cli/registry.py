"""Registry commands: `fsync features`, `fsync impact`, `fsync lock`, `fsync check`, `fsync training-set`
(the logic lives in fsync.registry)."""

from __future__ import annotations

import csv
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

from fsync.cli.options import json_option, project_options, warehouse_options
from fsync.cli.output import echo_json
from fsync.cli.runtime import Invocation, handle_errors, invocation
from fsync.errors import FsyncError
from fsync.project import chosen_target, profiles_dir
from fsync.registry.check import run_check
from fsync.registry.discovery import list_views, search, show
from fsync.registry.impact import impact
from fsync.registry.locks import LOCK_FILE, read_lock, write_lock
from fsync.registry.training_set import (
    Request,
    compile_sql,
    labels_expression,
    parse_features,
    write_duckdb,
    write_postgres,
)
from fsync.warehouse import open_reader, refuse_spark_queries


def _lock_path(run: Invocation, lock_file: str | None) -> Path:
    return Path(lock_file) if lock_file else run.project_dir / LOCK_FILE


lock_option = click.option("--lock-file", help=f"Lock file (default: {LOCK_FILE} in the project dir).")


@click.group("features")
def features_group() -> None:
    """Discover feature views: list, show NAME, search TEXT."""


@features_group.command("list")
@project_options
@json_option
@handle_errors
def features_list(as_json: bool, **flags: Any) -> int:
    """Every feature view version with its keys, TTL, SLA, owner and features."""
    rows = list_views(invocation(flags).manifest)
    if as_json:
        echo_json(rows)
        return 0
    for r in rows:
        flags = ("" if r["latest"] else " (not latest)") + (
            f" deprecated {r['deprecation_date']}" if r["deprecation_date"] else ""
        )
        click.echo(
            f"{r['view']}{flags}  keys={','.join(r['entity_keys'])} ttl={r['ttl']} "
            f"sla={r['freshness_sla']} owner={r['owner']} tags={','.join(r['tags'])}"
        )
        click.echo(f"    {', '.join(r['features'])}")
    return 0


@features_group.command("show")
@click.argument("name")
@project_options
@json_option
@handle_errors
def features_show(name: str, as_json: bool, **flags: Any) -> int:
    """Definition, columns, TTL, SLA, versions, sources and consumers of NAME (every version, or name@N)."""
    views = show(invocation(flags).manifest, name)
    if as_json:
        echo_json(views)
        return 0
    for d in views:
        click.echo(f"== {d['view']}{'' if d['latest'] else ' (not the latest version)'}")
        click.echo(f"  {d['description']}")
        click.echo(
            f"  owner: {d['owner']}   entity keys: {', '.join(d['entity_keys'])}"
            f"   timestamp: {d['timestamp']}"
        )
        click.echo(
            f"  ttl: {d['ttl']}   freshness SLA: {d['freshness_sla']}   online: {d['online']}"
            f"   tags: {', '.join(d['tags'])}"
        )
        versions = ", ".join(
            v["view"]
            + (" (latest)" if v["latest"] else "")
            + (f" (deprecated {v['deprecation_date']})" if v["deprecation_date"] else "")
            for v in d["versions"]
        )
        click.echo(f"  versions: {versions}")
        click.echo(
            f"  definition: {d['sql_path']} (properties in {d['yaml_path']}), relation {d['relation']}"
        )
        click.echo("  columns:")
        for c in d["columns"]:
            click.echo(f"    {c['name']:<28} {c['data_type'] or '?':<18} {c['description']}")
        click.echo(f"  upstream sources: {', '.join(d['upstream_sources']) or '-'}")
        click.echo(f"  upstream models: {', '.join(d['upstream_models']) or '-'}")
        click.echo(f"  training sets: {', '.join(d['training_sets']) or '-'}")
        click.echo(f"  other downstream models: {', '.join(d['downstream_models']) or '-'}")
        click.echo(
            "  exposures: " + (", ".join(f"{e['name']} ({e['owner']})" for e in d["exposures"]) or "-")
        )
        click.echo(f"  {d['sql_kind']} SQL:")
        for line in d["sql_snippet"].splitlines():
            click.echo(f"    {line}")
    return 0


@features_group.command("search")
@click.argument("text")
@project_options
@json_option
@handle_errors
def features_search(text: str, as_json: bool, **flags: Any) -> int:
    """Feature views and features whose name, description, entity, owner or tag contains TEXT."""
    hits = search(invocation(flags).manifest, text)
    if as_json:
        echo_json(hits)
        return 0
    if not hits:
        click.echo(f"nothing matches {text!r}", err=True)
        return 1
    for h in hits:
        what = f"{h['view']}.{h['feature']}" if h["feature"] else h["view"]
        click.echo(f"{what:<50} [{', '.join(h['matched'])}] {h['description']}")
    return 0


@click.command("impact")
@click.argument("changed", metavar="TARGET")
@project_options
@json_option
@handle_errors
def impact_cmd(changed: str, as_json: bool, **flags: Any) -> int:
    """Every downstream model, training set and exposure affected by a change of TARGET: a view (name = every
    version, name@N), a feature (VIEW:FEATURE), or any model, seed or source."""
    result = impact(invocation(flags).manifest, changed)
    if as_json:
        echo_json(result)
        return 0
    click.echo(
        f"impact of {changed} ({', '.join(result['nodes'])}"
        + (f", feature {result['feature']}" if result["feature"] else "")
        + "):"
    )
    for key, title in (
        ("training_sets", "training sets"),
        ("models", "other models"),
        ("exposures", "exposures"),
    ):
        click.echo(f"  {title}: {', '.join(result[key]) or '-'}")
    return 0


@click.command("lock")
@click.argument("views", nargs=-1)
@lock_option
@project_options
@json_option
@handle_errors
def lock_cmd(views: tuple[str, ...], lock_file: str | None, as_json: bool, **flags: Any) -> int:
    """Record the fingerprints of the published feature-view versions (all, or VIEWS: name or name@N)."""
    run = invocation(flags)
    path = _lock_path(run, lock_file)
    changed = write_lock(path, run.manifest, list(views) or None)
    if as_json:
        echo_json({"lock_file": str(path), "changed": changed})
    else:
        click.echo(f"{path}: " + (f"updated {', '.join(changed)}" if changed else "unchanged"))
    return 0


@click.command("check")
@lock_option
@click.option("--no-leakage", is_flag=True, help="Skip the leakage check (needs no warehouse).")
@click.option("--today", help="Date deprecations are judged against (YYYY-MM-DD). Default: today (UTC).")
@project_options
@warehouse_options
@json_option
@handle_errors
def check_cmd(lock_file: str | None, no_leakage: bool, today: str | None, as_json: bool, **flags: Any) -> int:
    """Metadata schema, version locks, deprecations and leakage of every declared training set."""
    run = invocation(flags)
    path = _lock_path(run, lock_file)
    try:
        day = date.fromisoformat(today) if today else datetime.now(UTC).date()
    except ValueError:
        raise FsyncError(f"--today {today!r} is not a date such as 2026-06-30.") from None
    reader = None if no_leakage else open_reader(run.warehouse)
    try:
        report = run_check(run.manifest, read_lock(path), day, reader, lock_file=path.name)
    finally:
        if reader is not None:
            reader.close()
    if as_json:
        echo_json(report.to_dict())
        return report.exit_code
    for p in report.errors:
        click.echo(f"ERROR   {p}", err=True)
    for p in report.warnings:
        click.echo(f"WARNING {p}", err=True)
    c = report.checked
    status = "FAILED" if report.errors else "ok"
    click.echo(
        f"fsync check {status}: {len(report.errors)} error(s), {len(report.warnings)} warning(s); "
        f"{c['feature_views']} feature views, {c['locked_versions']} locked versions, "
        f"{c['training_sets']} training sets checked for leakage"
    )
    return report.exit_code


@click.command("training-set")
@click.option("--labels", required=True, help="Labels: a .csv/.parquet file, a model name, or a relation.")
@click.option(
    "--features",
    "features",
    required=True,
    help="VIEW[@N]:FEATURE,... e.g. user_purchase_features@2:purchase_count_30d",
)
@click.option("--label-timestamp", default="label_ts", show_default=True, help="Label timestamp column.")
@click.option(
    "--entity-keys", help="Comma-separated label key columns. Default: the first view's entity_keys."
)
@click.option(
    "--prefix", "prefixes", multiple=True, help="VIEW[@N]=PREFIX for a view's columns (default VIEW__)."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.parquet or FILE.csv (default: CSV on stdout).",
)
@click.option("--print-sql", is_flag=True, help="Print the compiled SQL and stop.")
@project_options
@warehouse_options
@json_option
@handle_errors
def training_set_cmd(
    labels: str,
    features: str,
    label_timestamp: str,
    entity_keys: str | None,
    prefixes: tuple[str, ...],
    out: Path | None,
    print_sql: bool,
    as_json: bool,
    **flags: Any,
) -> int:
    """Point-in-time-correct training set from feature names, compiled with fstore.point_in_time_join."""
    run = invocation(flags)
    manifest = run.manifest
    prefix_map: dict[str, str] = {}
    for p in prefixes:
        view, sep, prefix = p.partition("=")
        if not sep:
            raise FsyncError(
                f"--prefix {p!r}: write VIEW[@N]=PREFIX, e.g. user_purchase_features@2=purchase__."
            )
        prefix_map[view.strip()] = prefix.strip()
    views = parse_features(features, manifest, prefix_map)
    keys = tuple(k.strip() for k in entity_keys.split(",")) if entity_keys else views[0].view.entity_keys
    kind = run.settings.warehouse or manifest.adapter_type
    labels_expr, labels_file = labels_expression(labels, manifest, kind)
    request = Request(labels_expr, keys, label_timestamp, views)
    settings = run.settings
    sql = compile_sql(
        request,
        run.project_dir.resolve(),
        chosen_target(settings, run.project),
        str(profiles_dir(settings, os.environ)),
    )
    if print_sql:
        if as_json:
            echo_json({"sql": sql})
        else:
            click.echo(sql)
        return 0
    warehouse = run.warehouse
    refuse_spark_queries(warehouse, "fsync training-set")
    if warehouse.kind == "duckdb":
        assert warehouse.duckdb_path is not None
        count, columns, rows = write_duckdb(sql, warehouse.duckdb_path, out)
    else:
        count, columns, rows = write_postgres(sql, warehouse.postgres_dsn or "", out, labels_file)
    if out is None and as_json:
        echo_json(
            {
                "rows": len(rows),
                "columns": columns,
                "data": [dict(zip(columns, r, strict=True)) for r in rows],
            }
        )
        return 0
    if out is None:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
        return 0
    summary = {
        "out": str(out),
        "rows": count,
        "columns": columns,
        "views": [{"view": v.view.label, "prefix": v.prefix, "features": list(v.columns)} for v in views],
    }
    if as_json:
        echo_json(summary)
    else:
        click.echo(f"wrote {count} rows x {len(columns)} columns to {out}")
    return 0


COMMANDS = (features_group, impact_cmd, lock_cmd, check_cmd, training_set_cmd)
