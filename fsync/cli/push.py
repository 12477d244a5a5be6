"""`fsync push`, `fsync get`, `fsync views`: publish feature views to the online store and read them back."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from fsync.cli.options import as_of_option, json_option, project_options, store_options, warehouse_options
from fsync.cli.output import Progress, echo_json
from fsync.cli.runtime import handle_errors, invocation
from fsync.errors import FsyncError
from fsync.online.publish import publish, push_options
from fsync.online.stores import open_store
from fsync.serving.online import OnlinePlan, read
from fsync.timeutil import parse_as_of


@click.command("push")
@click.option(
    "--select",
    "-s",
    "select",
    multiple=True,
    help="View to push: name (every version), name@N, name.vN or the relation name (repeatable).",
)
@click.option("--full-refresh", is_flag=True, help="Rewrite every entity and drop the ones no longer served.")
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@as_of_option("The push's 'now' (ISO timestamp, UTC if naive). Default: the wall clock.")
@click.option("--batch-size", type=int, help="Entities per read/write batch (default 1000).")
@click.option(
    "--wait",
    "lease_wait",
    type=float,
    help="Seconds to wait for another push of the same view (default 0: report the view busy, exit 3).",
)
@click.option(
    "--allow-eviction",
    is_flag=True,
    default=None,
    help="Push into a Redis whose maxmemory-policy may evict feature keys (default: refuse).",
)
@click.option("--allow-future", is_flag=True, help="Allow an --as-of later than the wall clock.")
@project_options
@warehouse_options
@store_options
@json_option
@handle_errors
def push_cmd(
    select: tuple[str, ...],
    full_refresh: bool,
    dry_run: bool,
    as_of: str | None,
    allow_future: bool,
    as_json: bool,
    **flags: Any,
) -> int:
    """Publish the latest row of every entity of the selected feature views."""
    run = invocation(flags)
    settings = run.settings
    views = run.manifest.select_online(list(select))
    if not views:
        raise FsyncError("no online feature views in the manifest (models with config meta.feature_view).")
    opts = push_options(
        settings,
        parse_as_of(as_of) if as_of is not None else None,
        full_refresh=full_refresh,
        dry_run=dry_run,
        allow_future=allow_future,
    )
    bar = Progress(enabled=not as_json)
    try:
        summary = publish(settings, run.project, run.manifest, views, opts, progress=bar.update).summary
    finally:
        bar.close()
    if as_json:
        echo_json(summary.to_dict())
    else:
        click.echo(f"fsync push as of {summary.as_of} into {summary.store}")
        for warning in summary.warnings:
            click.echo(f"fsync: WARNING: {warning}", err=True)
        for v in summary.views:
            if v.status in ("pushed", "dry-run"):
                verb = "would write" if v.status == "dry-run" else "wrote"
                why = f" ({v.reason})" if v.reason else ""
                click.echo(
                    f"  {v.view}: {v.mode} push{why}, {verb} {v.rows} entities, deleted {v.deleted}"
                    f" ({v.seconds:.2f}s)" + (f" - {v.message}" if v.message else "")
                )
            else:
                click.echo(f"  {v.view}: {v.status.upper()} - {v.message}")
        for warning in (w for v in summary.views for w in v.warnings):
            click.echo(f"fsync: WARNING: {warning}", err=True)
    return summary.exit_code


@click.command("get")
@click.argument("view")
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@click.option(
    "--entity",
    "entities",
    multiple=True,
    help='An entity as JSON, e.g. \'{"user_id": 42, "country": "DE"}\' (repeatable; any key value).',
)
@click.option("--features", help="Comma-separated features of VIEW to read (default: all).")
@as_of_option("Read as of this instant (expiry); default: the wall clock.")
@project_options
@store_options
@json_option
@handle_errors
def get_cmd(
    view: str,
    keys: tuple[str, ...],
    entities: tuple[str, ...],
    features: str | None,
    as_of: str | None,
    as_json: bool,
    **flags: Any,
) -> int:
    """Read entities of VIEW (name = its latest version, or name@N) back from the online store.

    Each KEY is one entity. For a view with one key column it is the key's value (an integer key is typed
    as digits); for a composite key it is the parts in the order of the view's entity_keys, joined by `|`
    (42|DE). A KEY that contains `\\`, or a wrong number of parts, is a usage error: give such an entity
    as JSON with --entity '{"user_id": 42, "country": "a|b"}'. Exit 1 when an entity is not served.
    """
    run = invocation(flags)
    spec = run.manifest.view(view)
    rows = [_positional_entity(spec.label, spec.entity_keys, k) for k in keys]
    rows += [_json_entity(spec.label, text) for text in entities]
    if not rows:
        raise FsyncError(
            f"give at least one KEY of {spec.label} (its key: {', '.join(spec.entity_keys)}),"
            " or --entity JSON."
        )
    names = [f.strip() for f in (features or "").split(",") if f.strip()] or None
    plan = OnlinePlan.for_view(run.manifest, spec, names)
    store = open_store(run.settings)
    try:
        result = read(store, plan, rows, parse_as_of(as_of))
    finally:
        store.close()
    states, stamps = result.statuses[spec.label], result.feature_ts[spec.label]
    out = []
    for i, state in enumerate(states):
        served = state in ("present", "null")
        out.append(
            {
                "key": {k: result.columns[k][i] for k in spec.entity_keys},
                "status": state,
                "feature_ts": stamps[i],
                "values": {n: result.columns[n][i] for n in result.feature_names} if served else None,
            }
        )
    if as_json:
        echo_json({"view": spec.label, "now": result.now, "entities": out})
    else:
        for entity in out:
            key = ", ".join(f"{k}={v}" for k, v in entity["key"].items())
            if entity["values"] is None:
                why = (
                    "never pushed"
                    if entity["status"] == "missing"
                    else f"expired (feature_ts {entity['feature_ts']})"
                )
                click.echo(f"{spec.label} {key}: {entity['status']} - not served ({why})")
                continue
            click.echo(
                f"{spec.label} {key}: {entity['status']}, feature_ts {entity['feature_ts'].isoformat()}"
            )
            width = max(len(n) for n in entity["values"])
            for name, value in entity["values"].items():
                shown = "NULL" if value is None else _text(value)
                click.echo(f"  {name.ljust(width)}  {shown}  ({type(value).__name__})")
    return 0 if all(s in ("present", "null") for s in states) else 1


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _positional_entity(view: str, key_columns: tuple[str, ...], text: str) -> dict[str, str]:
    if "\\" in text:
        raise FsyncError(
            f"KEY {text!r} of {view} contains a backslash; give the entity as JSON with --entity"
            f" '{{\"{key_columns[0]}\": ...}}'."
        )
    parts = text.split("|")
    if len(parts) != len(key_columns):
        raise FsyncError(
            f"KEY {text!r} has {len(parts)} part(s) but {view} has {len(key_columns)} key column(s)"
            f" ({', '.join(key_columns)}); write "
            + ("|".join(f"<{k}>" for k in key_columns))
            + ", or give a value that contains | as JSON with --entity."
        )
    return dict(zip(key_columns, parts, strict=True))


def _json_entity(view: str, text: str) -> dict[str, Any]:
    try:
        entity = json.loads(text)
    except ValueError as exc:
        raise FsyncError(
            f"--entity {text!r} is not JSON ({exc}); write e.g. '{{\"user_id\": 42}}'."
        ) from None
    if not isinstance(entity, dict):
        raise FsyncError(f"--entity {text!r} must be a JSON object of key column to value, for {view}.")
    return entity


@click.command("views")
@project_options
@json_option
@handle_errors
def views_cmd(as_json: bool, **flags: Any) -> int:
    """List the feature views of the manifest and whether each may be published."""
    manifest = invocation(flags).manifest
    rows = [
        {
            "view": v.label,
            "relation": v.relation,
            "entity_keys": list(v.entity_keys),
            "ttl": v.ttl,
            "online": v.online,
            "problems": [str(p) for p in v.problems],
            "blocked": manifest.health_of(v),
        }
        for v in manifest.views
    ]
    if as_json:
        echo_json(rows)
    else:
        for r in rows:
            click.echo(f"{r['view']:<40} {r['relation']:<45} {r['blocked'] or 'ok'}")
    return 1 if any(r["problems"] for r in rows) else 0


COMMANDS = (push_cmd, get_cmd, views_cmd)
