"""The fstore demo in Dagster: dagster-dbt's assets of examples/demo, and fsync's push asset (with its checks)
for every online feature-view version, downstream of its dbt model (docs/dagster.md).

    cd examples/demo
    DBT_PROFILES_DIR=../.. ../../.venv/bin/dagster asset materialize -f ../dagster/definitions.py \
        --select stg_users

Settings come from the environment: FSTORE_AS_OF (the push's and the checks' "now"; the demo's data ends on
2024-12-01, so use 2024-12-01T12:00:00), the dbt profile's variables (DBT_PROFILES_DIR, FSTORE_DUCKDB_PATH,
...) and fsync's own (FSYNC_STORE, FSYNC_REDIS_URL, ...; default: the SQLite store .fsync/online.sqlite).
"""

# No `from __future__ import annotations`: Dagster reads the `context` annotation of the asset function.

import os
import sys
from pathlib import Path

from dagster import AssetExecutionContext, Definitions
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from fsync.dagster import FsyncResource, fsync_assets

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
PROFILES_DIR = Path(os.environ.get("DBT_PROFILES_DIR") or DEMO_DIR).resolve()  # as for dbt: DBT_PROFILES_DIR
demo = DbtProject(
    project_dir=DEMO_DIR, profiles_dir=PROFILES_DIR, target=os.environ.get("FSTORE_DBT_TARGET", "duckdb")
)
demo.prepare_if_dev()  # `dagster dev`: dbt parse writes target/manifest.json
# the dbt installed next to this Python (the venv with fstore-fsync[dagster]), else the one on PATH
DBT = str(Path(sys.executable).with_name("dbt")) if Path(sys.executable).with_name("dbt").exists() else "dbt"


@dbt_assets(manifest=demo.manifest_path)
def demo_dbt(context: AssetExecutionContext, dbt: DbtCliResource):  # type: ignore[no-untyped-def]
    # Each invocation writes its artifacts to its own directory under target/, where fsync reads them all.
    yield from dbt.cli(["build"], context=context).stream()


defs = Definitions(
    assets=[demo_dbt, *fsync_assets(demo.manifest_path)],
    resources={
        "dbt": DbtCliResource(project_dir=demo, profiles_dir=str(PROFILES_DIR), dbt_executable=DBT),
        "fsync": FsyncResource(
            project_dir=str(DEMO_DIR), target_path="target", as_of=os.environ.get("FSTORE_AS_OF") or None
        ),
    },
)
