"""Session fixtures: the engines (DuckDB files, a PostgreSQL schema per session) with the repository's dbt
projects bound to them, and the demo built once per engine.

- DuckDB: private database files under the session's tmp dir.
- Spark: dbt-spark's session mode (pyspark inside each dbt process, Java on PATH), a private warehouse dir and
  Derby metastore under the session's tmp dir. Missing pyspark or Java fails the spark tests: never a skip.
- PostgreSQL: a unique schema per session (FSTORE_PG_HOST/PORT/USER/PASSWORD/DATABASE, defaults
  127.0.0.1:5432 postgres/'' db test), dropped with everything dbt derived from it at teardown.
  An unreachable server fails the postgres tests: it is never a skip.
"""

from __future__ import annotations

import importlib.util
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fstore_testing.dbt import ENGINES, PgSettings, drop_schemas, write_profiles
from fstore_testing.demo import DemoBuild, build_demo
from fstore_testing.engines import Engine, make_engine
from fstore_testing.redis_server import free_port, start_redis


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


@pytest.fixture(scope="session")
def spark_ready() -> None:
    problems = []
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        problems.append('pyspark / dbt-spark are missing (pip install -e ".[spark]"; dev.py test does it)')
    if shutil.which("java") is None:
        problems.append("no `java` on PATH (Spark needs Java 17: apt-get install openjdk-17-jre-headless)")
    if problems:
        pytest.fail("Spark is unavailable: " + "; ".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def engines(
    request: pytest.FixtureRequest, session_dir: Path, profiles_dir: Path, pg_settings: PgSettings
) -> Callable[[str], Engine]:
    """Engine by name, made once per session (only the postgres one asks for the PostgreSQL schema)."""
    made: dict[str, Engine] = {}

    def get(name: str) -> Engine:
        if name not in made:
            pg_schema = request.getfixturevalue("pg_schema") if name == "postgres" else None
            if name == "spark":
                request.getfixturevalue("spark_ready")
            made[name] = make_engine(name, session_dir, profiles_dir, pg_settings, pg_schema)
        return made[name]

    return get


@pytest.fixture(
    scope="session",
    params=[pytest.param(e, marks=[getattr(pytest.mark, e)] if e != "duckdb" else []) for e in ENGINES],
)
def engine(request: pytest.FixtureRequest, engines: Callable[[str], Engine]) -> Engine:
    return engines(request.param)


@pytest.fixture(scope="session")
def demo_builds(engines: Callable[[str], Engine]) -> Callable[[str], DemoBuild]:
    """The one demo build of the test session per engine: `dbt seed` + `dbt build` of examples/demo."""
    built: dict[str, DemoBuild] = {}

    def get(name: str) -> DemoBuild:
        if name not in built:
            built[name] = build_demo(engines(name))
        return built[name]

    return get


@pytest.fixture(scope="session")
def demo(engine: Engine, demo_builds: Callable[[str], DemoBuild]) -> DemoBuild:
    """The demo built on each engine (parametrized like `engine`)."""
    return demo_builds(engine.name)


@pytest.fixture(scope="session")
def duckdb_demo(demo_builds: Callable[[str], DemoBuild]) -> DemoBuild:
    return demo_builds("duckdb")


@pytest.fixture(scope="session")
def pg_demo(demo_builds: Callable[[str], DemoBuild]) -> DemoBuild:
    return demo_builds("postgres")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private redis-server on a free port for the session (never the shared 127.0.0.1:6379)."""
    port = free_port()
    proc = start_redis(tmp_path_factory.mktemp("redis"), port)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)
