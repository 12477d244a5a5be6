"""The fstore demo in Airflow 3: `dbt build` -> `fsync check` -> `fsync push` -> `fsync freshness`.

Copy this file into your DAGs folder (or point AIRFLOW__CORE__DAGS_FOLDER at examples/airflow/dags). It runs
the demo project examples/demo on DuckDB; every path and setting comes from the environment, so the same DAG
runs your project:

    FSTORE_DBT_PROJECT_DIR   the dbt project (default: examples/demo of this repository)
    FSTORE_DBT_TARGET        the dbt target (default: duckdb)
    FSTORE_AS_OF             the push's and the freshness check's "now" (default: the DAG run's logical date;
                             the demo's data ends on 2024-12-01: use 2024-12-01T12:00:00)
    DBT_PROFILES_DIR, FSYNC_* (store, sqlite_path, redis_url, ...)   as for dbt and the fsync CLI

`dbt build` runs first and `fsync check` right after it, so fsync has read (and recorded) the build's
results before anything else rewrites target/run_results.json (docs/fsync.md, "Build health").
Exit codes of fsync: 1 fails the task (the JSON in its log), 2 fails it without retry, 3 retries it.
"""

from __future__ import annotations

import os
import shlex
import sys
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

from fsync.airflow import FsyncOperator

REPO = Path(__file__).resolve().parents[3]
PROJECT_DIR = os.environ.get("FSTORE_DBT_PROJECT_DIR", str(REPO / "examples" / "demo"))
DBT_TARGET = os.environ.get("FSTORE_DBT_TARGET", "duckdb")
# dbt installed next to the worker's Python (the venv that has fstore-fsync[airflow]), else on PATH
DBT = str(Path(sys.executable).with_name("dbt")) if Path(sys.executable).with_name("dbt").exists() else "dbt"
AS_OF = os.environ.get("FSTORE_AS_OF") or "{{ logical_date.strftime('%Y-%m-%dT%H:%M:%S') }}"

with DAG(
    dag_id="fstore_demo",
    description="dbt build, then publish the feature views online and check their freshness",
    schedule="@daily",
    start_date=datetime(2024, 12, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=1)},
    tags=["fstore"],
) as dag:
    dbt_build = BashOperator(
        task_id="dbt_build",
        bash_command=f"{shlex.quote(DBT)} build --target {shlex.quote(DBT_TARGET)}",
        cwd=PROJECT_DIR,
        retries=0,
    )
    fsync_check = FsyncOperator(task_id="fsync_check", command="check", project_dir=PROJECT_DIR)
    fsync_push = FsyncOperator(task_id="fsync_push", command="push", as_of=AS_OF, project_dir=PROJECT_DIR)
    fsync_freshness = FsyncOperator(
        task_id="fsync_freshness", command="freshness", as_of=AS_OF, project_dir=PROJECT_DIR
    )
    dbt_build >> fsync_check >> fsync_push >> fsync_freshness
