"""`fsync catalog`: the click wrapper around fsync.catalog (registered on the main group by fsync/cli.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from fsync.catalog import build_catalog
from fsync.config import load_settings
from fsync.errors import FsyncError
from fsync.timeutil import parse_as_of


@click.command("catalog")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the site into (index.html + views/).",
)
@click.option("--project-dir", type=click.Path(file_okay=False), help="dbt project directory.")
@click.option("--target-path", help="dbt target dir holding manifest.json (relative to the project).")
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
    help="Config file (default: fsync.toml or [tool.fsync] in pyproject.toml).",
)
@click.option(
    "--warehouse", type=click.Choice(["duckdb", "postgres"]), help="Default: the manifest's adapter."
)
@click.option("--duckdb-path", help="DuckDB warehouse file (opened read-only).")
@click.option("--postgres-dsn", help="PostgreSQL connection string (the session is read-only).")
@click.option("--no-profile", is_flag=True, help="Do not read the warehouse (no live profile figures).")
@click.option("--as-of", help="'Now' for freshness (ISO timestamp, UTC if naive). Default: the wall clock.")
def catalog_cmd(
    out_dir: Path, no_profile: bool, as_of: str | None, config_file: Path | None, **flags: Any
) -> None:
    """Write a static, self-contained HTML catalog of the feature views into OUT."""
    try:
        _run(out_dir, no_profile, as_of, config_file, flags)
    except FsyncError as exc:  # expected failures: one line and the exit code, as every fsync command
        click.echo(f"fsync: error: {exc}", err=True)
        sys.exit(exc.exit_code)


def _run(out_dir: Path, no_profile: bool, as_of: str | None, config_file: Path | None, flags: Any) -> None:
    settings = load_settings(flags, config_file=config_file)
    now = parse_as_of(as_of) if as_of else parse_as_of(None).replace(microsecond=0)
    result = build_catalog(settings, out_dir, now, profile=not no_profile)
    click.echo(f"fsync catalog: wrote {len(result.pages)} pages to {out_dir / 'index.html'}")
    profiles = result.profiles
    if profiles is not None and profiles.unavailable:
        click.echo(f"fsync catalog: no live profile ({profiles.unavailable})", err=True)
    elif profiles is not None:
        for uid, why in sorted(profiles.errors.items()):
            click.echo(f"fsync catalog: could not profile {uid}: {why}", err=True)


def register(group: click.Group) -> None:
    group.add_command(catalog_cmd)
