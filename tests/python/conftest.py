"""Fixtures that run the real dbt CLI on DuckDB and PostgreSQL, isolated per test session.

- DuckDB: a private database file under the session's tmp dir.
- PostgreSQL: a unique schema per session (FSTORE_PG_HOST/PORT/USER/PASSWORD/DATABASE, defaults
  127.0.0.1:5432 postgres/'' db test), dropped with everything dbt derived from it at teardown.
  An unreachable server fails the postgres tests: it is never a skip.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dbt_runner import ENGINES, DbtRunner, PgSettings, drop_schemas, write_profiles
from warehouse import Warehouse


@dataclass(frozen=True)
class Engine:
    """Everything a test needs to run dbt on one engine and look at the result."""

    name: str
    dbt: DbtRunner
    warehouse: Warehouse
    model_schema: str  # where dbt builds models and seeds
    reference_schema: str  # where test_reference loads the `fstore_reference` source tables
    work_dir: Path


@pytest.fixture(scope="session")
def pg_settings() -> PgSettings:
    return PgSettings.from_env()


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fstore")


@pytest.fixture(scope="session")
def profiles_dir(session_dir: Path) -> Path:
    path = session_dir / "profiles"
    write_profiles(path)
    return path


@pytest.fixture(scope="session")
def pg_schema(pg_settings: PgSettings) -> Iterator[str]:
    try:
        pg_settings.connect().close()
    except Exception as exc:  # noqa: BLE001 - any connection error means the same thing here
        pytest.fail(
            f"PostgreSQL is unreachable at {pg_settings.describe()} (set FSTORE_PG_HOST/PORT/USER/PASSWORD/"
            f"DATABASE): {exc}",
            pytrace=False,
        )
    schema = f"fstore_pytest_{secrets.token_hex(4)}"
    yield schema
    drop_schemas(pg_settings, schema)


def _engine(name: str, request: pytest.FixtureRequest, session_dir: Path, profiles_dir: Path) -> Engine:
    pg_settings: PgSettings = request.getfixturevalue("pg_settings")
    duckdb_path = session_dir / "fstore.duckdb"
    env = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "FSTORE_DUCKDB_PATH": str(duckdb_path),
    }
    if name == "duckdb":
        model_schema, reference_schema = "main", "fstore_reference"
    else:
        model_schema = request.getfixturevalue("pg_schema")
        reference_schema = f"{model_schema}_reference"
        env["FSTORE_PG_SCHEMA"] = model_schema
    env["FSTORE_REFERENCE_SCHEMA"] = reference_schema
    work_dir = session_dir / name
    runner = DbtRunner(
        target=name, profiles_dir=profiles_dir, target_path=work_dir / "target",
        log_path=work_dir / "logs", env=env,
    )
    return Engine(
        name=name, dbt=runner, warehouse=Warehouse(name, duckdb_path, pg_settings),
        model_schema=model_schema, reference_schema=reference_schema, work_dir=work_dir,
    )


@pytest.fixture(
    scope="session",
    params=[pytest.param(e, marks=[pytest.mark.postgres] if e == "postgres" else []) for e in ENGINES],
)
def engine(request: pytest.FixtureRequest, session_dir: Path, profiles_dir: Path) -> Engine:
    return _engine(request.param, request, session_dir, profiles_dir)
