"""Command line: `fsync push`, `fsync get`, `fsync views`. The only module that knows about click."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from fsync.artifacts import load_registry
from fsync.config import Settings, load_settings
from fsync.connect import lookback_seconds, open_reader, open_store
from fsync.errors import FsyncError
from fsync.push import PushOptions, push
from fsync.timeutil import parse_as_of


def common_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--project-dir", type=click.Path(file_okay=False), help="dbt project directory."),
        click.option("--target-path", help="dbt target dir holding manifest.json (relative to the project)."),
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Config file (default: fsync.toml or [tool.fsync] in pyproject.toml).",
        ),
        click.option("--store", type=click.Choice(["sqlite", "redis"]), help="Online store."),
        click.option("--sqlite-path", help="SQLite online store file."),
        click.option("--key-prefix", help="Prefix of every online store key."),
        click.option(
            "--warehouse", type=click.Choice(["duckdb", "postgres"]), help="Default: manifest's adapter."
        ),
        click.option("--duckdb-path", help="DuckDB warehouse file."),
        click.option("--batch-size", type=int, help="Entities per read/write batch."),
        click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _settings(kwargs: dict[str, Any]) -> Settings:
    config_file = kwargs.pop("config_file", None)
    return load_settings(kwargs, config_file=config_file)


def handle_errors(fn: Callable[..., int | None]) -> Callable[..., None]:
    """Expected failures print one line and exit with their code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            code = fn(*args, **kwargs) or 0
        except FsyncError as exc:
            click.echo(f"fsync: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(code)

    return wrapper


@click.group()
@click.version_option(package_name="fstore-fsync")
def main() -> None:
    """fsync: publish dbt feature views to an online store and read them back."""


@main.command("push")
@click.option(
    "--select", "-s", "select", multiple=True, help="View name, name.vN or relation name (repeatable)."
)
@click.option("--full-refresh", is_flag=True, help="Rewrite every entity and drop the ones no longer served.")
@click.option("--dry-run", is_flag=True, help="Check and count, write nothing.")
@click.option("--as-of", help="The push's 'now' (ISO timestamp, UTC if naive). Default: the wall clock.")
@common_options
@handle_errors
def push_cmd(
    select: tuple[str, ...],
    full_refresh: bool,
    dry_run: bool,
    as_of: str | None,
    as_json: bool,
    **kwargs: Any,
) -> int:
    """Publish the latest row of every entity of the selected feature views."""
    settings = _settings(kwargs)
    registry = load_registry(settings.path(settings.target_path))
    views = registry.select(list(select))
    if not views:
        raise FsyncError("no online feature views in the manifest (models with config meta.feature_view).")
    wall = datetime.now(UTC).replace(tzinfo=None)
    opts = PushOptions(
        as_of=parse_as_of(as_of) if as_of else wall,
        full_refresh=full_refresh,
        dry_run=dry_run,
        batch_size=settings.batch_size,
        lookback_seconds=lookback_seconds(settings),
        wall_now=wall,
    )
    store = open_store(settings)
    reader = open_reader(settings, registry)
    bar = _Progress(enabled=not as_json and sys.stderr.isatty())
    try:
        summary = push(registry, views, reader, store, opts, progress=bar.update)
    finally:
        bar.close()
        reader.close()
        store.close()
    if as_json:
        click.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        click.echo(f"fsync push as of {summary.as_of} into {summary.store}")
        for v in summary.views:
            if v.message:
                click.echo(f"  {v.view}: {v.status.upper()} - {v.message}")
            else:
                verb = "would write" if v.status == "dry-run" else "wrote"
                click.echo(
                    f"  {v.view}: {v.mode} push, {verb} {v.rows} entities, deleted {v.deleted}"
                    f" ({v.seconds:.2f}s)"
                )
    return summary.exit_code


class _Progress:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.view: str | None = None
        self.bar: Any = None
        self.done = 0

    def update(self, view: str, done: int, total: int) -> None:
        if not self.enabled or total < 20_000:
            return
        if view != self.view:
            self.close()
            self.view, self.done = view, 0
            self.bar = click.progressbar(length=total, label=f"pushing {view}", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@main.command("get")
@click.argument("view")
@click.argument("key")
@click.option("--as-of", help="Read as of this instant (expiry); default: the wall clock.")
@common_options
@handle_errors
def get_cmd(view: str, key: str, as_of: str | None, as_json: bool, **kwargs: Any) -> int:
    """Read one entity of VIEW (name = latest version, or name.vN) back from the online store.

    KEY is the entity key; a composite key is written with `|` between its parts, e.g. 42|DE.
    """
    settings = _settings(kwargs)
    registry = load_registry(settings.path(settings.target_path))
    fv = registry.resolve(view)
    store = open_store(settings)
    try:
        values = store.get(fv.store_id, key, parse_as_of(as_of))
    finally:
        store.close()
    if values is None:
        if as_json:
            click.echo(json.dumps({"view": fv.id, "key": key, "found": False}))
        else:
            click.echo(f"{fv.id} {key}: absent (never pushed, or expired)", err=True)
        return 1
    if as_json:
        click.echo(json.dumps({"view": fv.id, "key": key, "found": True, "values": values}, default=str))
    else:
        width = max(len(name) for name in values)
        for name, value in values.items():
            shown = "NULL" if value is None else value.isoformat() if isinstance(value, datetime) else value
            click.echo(f"{name.ljust(width)}  {shown}  ({type(value).__name__})")
    return 0


@main.command("views")
@common_options
@handle_errors
def views_cmd(as_json: bool, **kwargs: Any) -> int:
    """List the feature views of the manifest and whether each may be published."""
    settings = _settings(kwargs)
    registry = load_registry(settings.path(settings.target_path))
    rows = [
        {
            "view": v.id,
            "relation": f"{v.schema}.{v.alias}",
            "entity_keys": list(v.entity_keys),
            "ttl_seconds": v.ttl_seconds,
            "online": v.online,
            "problem": v.problem,
            "blocked": registry.health(v),
        }
        for v in registry.views
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        for r in rows:
            state = r["problem"] or r["blocked"] or "ok"
            click.echo(f"{r['view']:<40} {r['relation']:<45} {state}")
    return 0

from fsync.cli_catalog import register as _catalog; _catalog(main)  # noqa: E402, E702, I001
from fsync.cli_registry import register as _registry; _registry(main)  # noqa: E402, E702, I001
