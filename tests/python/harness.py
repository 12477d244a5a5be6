"""The per-engine bundle the fixtures hand to tests (importable: test modules must not import conftest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dbt_runner import DbtRunner, PgSettings
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


def make_engine(
    name: str, session_dir: Path, profiles_dir: Path, pg_settings: PgSettings, pg_schema: str | None
) -> Engine:
    duckdb_path = session_dir / "fstore.duckdb"
    env = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "FSTORE_DUCKDB_PATH": str(duckdb_path),
    }
    if name == "duckdb":
        model_schema, reference_schema = "main", "fstore_reference"
    else:
        assert pg_schema is not None, "the postgres engine needs the session's schema"
        model_schema = pg_schema
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
