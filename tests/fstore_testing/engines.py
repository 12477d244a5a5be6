"""The per-engine bundle the fixtures hand to tests: each dbt project of the repository on one engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fstore_testing.dbt import DEMO_DIR, INTEGRATION_DIR, DbtRunner, PgSettings, install_package
from fstore_testing.warehouse import Warehouse


@dataclass(frozen=True)
class ProjectBuild:
    """One dbt project (integration_tests or examples/demo) on one engine: its dbt, its storage, its env."""

    engine: str
    dbt: DbtRunner
    warehouse: Warehouse
    schema: str  # where dbt builds the project's models and seeds
    env: dict[str, str] = field(default_factory=dict)  # the FSTORE_* settings the profile reads

    @property
    def project_dir(self) -> Path:
        return self.dbt.project_dir

    @property
    def target_path(self) -> Path:
        return self.dbt.target_path

    @property
    def duckdb_path(self) -> Path:
        return self.warehouse.duckdb_path


@dataclass(frozen=True)
class Engine:
    name: str
    integration: ProjectBuild  # macro unit tests, seed-vs-expected, reference models
    demo: ProjectBuild  # the e-commerce demo
    reference_schema: str  # where test_reference loads the `fstore_reference` source tables
    work_dir: Path


def _project(
    name: str, project_dir: Path, label: str, work_dir: Path, profiles_dir: Path, pg: PgSettings,
    schema: str, extra_env: dict[str, str],
) -> ProjectBuild:
    duckdb_path = work_dir / f"{label}.duckdb"
    env = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "FSTORE_DUCKDB_PATH": str(duckdb_path),
        **extra_env,
    }
    spark_dir = work_dir / "spark-warehouse"
    if name == "postgres":
        env.update({
            "FSTORE_PG_HOST": pg.host, "FSTORE_PG_PORT": str(pg.port), "FSTORE_PG_USER": pg.user,
            "FSTORE_PG_PASSWORD": pg.password, "FSTORE_PG_DATABASE": pg.database, "FSTORE_PG_SCHEMA": schema,
        })
    elif name == "spark":
        # One warehouse dir and one Derby metastore per engine and session, shared by both projects (dbt runs
        # one at a time); the reference source tables live in the same catalog as the models built from them.
        env.update({
            "FSTORE_SPARK_WAREHOUSE": str(spark_dir),
            "FSTORE_SPARK_METASTORE": str(work_dir / "metastore_db"),
            "FSTORE_SPARK_SCHEMA": schema,
        })
    install_package(project_dir)
    runner = DbtRunner(
        project_dir=project_dir, target=name, profiles_dir=profiles_dir,
        target_path=work_dir / label / "target", log_path=work_dir / label / "logs", env=env,
    )
    warehouse = Warehouse(name, duckdb_path, pg, spark_dir=spark_dir if name == "spark" else None,
                          dbt=runner if name == "spark" else None)
    return ProjectBuild(name, runner, warehouse, schema, env)


def make_engine(
    name: str, session_dir: Path, profiles_dir: Path, pg_settings: PgSettings, pg_schema: str | None
) -> Engine:
    work_dir = session_dir / name
    if name == "duckdb":
        schemas = {"integration": "main", "demo": "main", "reference": "fstore_reference"}
    elif name == "spark":  # the session's own metastore: fixed names cannot collide
        schemas = {"integration": "fstore_it", "demo": "fstore_demo", "reference": "fstore_reference"}
    else:
        assert pg_schema is not None, "the postgres engine needs the session's schema"
        schemas = {
            "integration": pg_schema, "demo": f"{pg_schema}_demo", "reference": f"{pg_schema}_reference"
        }
    reference_env = {"FSTORE_REFERENCE_SCHEMA": schemas["reference"]}
    return Engine(
        name=name,
        integration=_project(name, INTEGRATION_DIR, "integration", work_dir, profiles_dir, pg_settings,
                             schemas["integration"], reference_env),
        demo=_project(name, DEMO_DIR, "demo", work_dir, profiles_dir, pg_settings, schemas["demo"], {}),
        reference_schema=schemas["reference"],
        work_dir=work_dir,
    )
