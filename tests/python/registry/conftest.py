"""Fixtures of the registry tests: the demo project built once on a private DuckDB file."""

from __future__ import annotations

import pytest
from dbt_runner import DbtRunner, PgSettings, write_profiles
from registry_support import Demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("registry")
    profiles = root / "profiles"
    write_profiles(profiles)
    duckdb_path = root / "fstore.duckdb"
    env = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "FSTORE_DUCKDB_PATH": str(duckdb_path),
    }
    runner = DbtRunner(
        target="duckdb", profiles_dir=profiles, target_path=root / "target", log_path=root / "logs", env=env
    )
    runner.ok("build")
    return Demo(
        root=root, target_path=root / "target", duckdb_path=duckdb_path, profiles_dir=profiles, env=env
    )


@pytest.fixture(scope="session")
def pg_demo(tmp_path_factory: pytest.TempPathFactory, pg_settings: PgSettings, pg_schema: str) -> Demo:
    """The demo built on PostgreSQL, in `<session schema>_registry` (dropped with the session schema)."""
    root = tmp_path_factory.mktemp("registry_pg")
    profiles = root / "profiles"
    write_profiles(profiles)
    schema = f"{pg_schema}_registry"
    env = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "FSTORE_PG_HOST": pg_settings.host,
        "FSTORE_PG_PORT": str(pg_settings.port),
        "FSTORE_PG_USER": pg_settings.user,
        "FSTORE_PG_PASSWORD": pg_settings.password,
        "FSTORE_PG_DATABASE": pg_settings.database,
        "FSTORE_PG_SCHEMA": schema,
        "FSYNC_WAREHOUSE": "postgres",
        "FSYNC_POSTGRES_DSN": (
            f"host={pg_settings.host} port={pg_settings.port} user={pg_settings.user}"
            f" dbname={pg_settings.database}"
            + (f" password={pg_settings.password}" if pg_settings.password else "")
        ),
    }
    runner = DbtRunner(
        target="postgres", profiles_dir=profiles, target_path=root / "target", log_path=root / "logs", env=env
    )
    runner.ok("build")
    return Demo(
        root=root,
        target_path=root / "target",
        duckdb_path=root / "unused.duckdb",
        profiles_dir=profiles,
        env=env,
        schema=schema,
    )
