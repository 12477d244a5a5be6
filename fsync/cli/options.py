"""Command-line options, grouped so that each command composes only the ones it uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _apply(fn: F, options: list[Callable[[F], F]]) -> F:
    for option in reversed(options):
        fn = option(fn)
    return fn


def project_options(fn: F) -> F:
    """Where the dbt project, its artifacts and its profile are (as for dbt)."""
    return _apply(
        fn,
        [
            click.option(
                "--project-dir", type=click.Path(file_okay=False), help="dbt project directory (default: .)."
            ),
            click.option(
                "--target-path", help="dbt target dir holding manifest.json (default: as dbt finds it)."
            ),
            click.option("--profiles-dir", help="Directory of profiles.yml (default: as dbt finds it)."),
            click.option(
                "--target", help="dbt target of the profile (default: the one the manifest was built with)."
            ),
            click.option(
                "--config",
                "config_file",
                type=click.Path(dir_okay=False, path_type=Path),
                help="fsync config file (default: fsync.toml or [tool.fsync] in pyproject.toml).",
            ),
        ],
    )


def warehouse_options(fn: F) -> F:
    """Overrides of the warehouse the dbt profile names (a connection string only from FSYNC_POSTGRES_DSN)."""
    return _apply(
        fn,
        [
            click.option(
                "--warehouse",
                type=click.Choice(["duckdb", "postgres"]),
                help="Warehouse type (default: the manifest's adapter).",
            ),
            click.option("--duckdb-path", help="DuckDB warehouse file (default: the dbt profile's path)."),
        ],
    )


def store_options(fn: F) -> F:
    """The online store (a Redis URL comes from FSYNC_REDIS_URL, never a flag: it may hold a password)."""
    return _apply(
        fn,
        [
            click.option(
                "--store", type=click.Choice(["sqlite", "redis"]), help="Online store (default: sqlite)."
            ),
            click.option("--sqlite-path", help="SQLite online store file."),
            click.option("--key-prefix", help="Prefix of every online store key."),
        ],
    )


def json_option(fn: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (also for errors).")(fn)


def as_of_option(help_text: str) -> Callable[[F], F]:
    return click.option("--as-of", help=help_text)


def audit_options(fn: F) -> F:
    """What to compare, where the legacy columns are, and when the audit passes."""
    options: list[Callable[[F], F]] = [
        click.option(
            "--legacy", required=True, help="The legacy relation: a model or seed name, or schema.table."
        ),
        click.option("--feature", required=True, help="The canonical feature, VIEW:FEATURE."),
        click.option(
            "--keys",
            help="Legacy columns of the view's entity keys, comma-separated (default: the same names).",
        ),
        click.option("--timestamp", help="Legacy timestamp column (default: the view's timestamp name)."),
        click.option("--column", help="Legacy value column (default: the feature's name)."),
        click.option(
            "--time-zone",
            default="America/Los_Angeles",
            show_default=True,
            help="The local zone the local_time_zone rule tries.",
        ),
        click.option(
            "--threshold",
            type=click.FloatRange(0, 1),
            default=0.99,
            show_default=True,
            help="Least match rate that passes (exit 0); below it the audit fails (exit 1).",
        ),
        click.option(
            "--tolerance",
            type=click.FloatRange(0),
            default=1e-9,
            show_default=True,
            help="Relative difference under which two values match.",
        ),
        click.option(
            "--top", type=click.IntRange(0), default=10, show_default=True, help="Worst rows shown."
        ),
    ]
    return _apply(fn, options)
