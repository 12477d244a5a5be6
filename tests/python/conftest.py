"""Fixtures that run the real dbt CLI on DuckDB and PostgreSQL, isolated per test session.

- DuckDB: a private database file under the session's tmp dir.
- PostgreSQL: a unique schema per session (FSTORE_PG_HOST/PORT/USER/PASSWORD/DATABASE, defaults
  127.0.0.1:5432 postgres/'' db test), dropped with everything dbt derived from it at teardown.
  An unreachable server fails the postgres tests: it is never a skip.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbt_runner import ENGINES, PgSettings, drop_schemas, write_profiles
from harness import Engine, make_engine


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
        problem = None
    except Exception as exc:  # noqa: BLE001 - any connection error means the same thing here
        problem = str(exc).strip()
    if problem is not None:
        pytest.fail(
            f"PostgreSQL is unreachable at {pg_settings.describe()} (set FSTORE_PG_HOST/PORT/USER/PASSWORD/"
            f"DATABASE): {problem}",
            pytrace=False,
        )
    schema = f"fstore_pytest_{secrets.token_hex(4)}"
    yield schema
    drop_schemas(pg_settings, schema)


@pytest.fixture(
    scope="session",
    params=[pytest.param(e, marks=[pytest.mark.postgres] if e == "postgres" else []) for e in ENGINES],
)
def engine(
    request: pytest.FixtureRequest, session_dir: Path, profiles_dir: Path, pg_settings: PgSettings
) -> Engine:
    # Only the postgres engine asks for the schema, so DuckDB-only runs never need the server.
    pg_schema = request.getfixturevalue("pg_schema") if request.param == "postgres" else None
    return make_engine(request.param, session_dir, profiles_dir, pg_settings, pg_schema)
