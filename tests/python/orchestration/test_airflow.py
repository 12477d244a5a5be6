"""The example DAG (examples/airflow/dags/fstore_demo.py) run by Airflow 3's `dag.test()` with a local SQLite
metadata DB, in a process of its own (tests/fstore_testing/airflow_dag.py), on a copy of the demo's DuckDB:
`dbt build` -> `fsync check` -> `fsync push --json` -> `fsync freshness --json`, and the exit codes of fsync
mapped onto the tasks (1: failed, not retried, the JSON in the log; 3: retried)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fstore_testing.dbt import DEMO_DIR, ROOT
from fstore_testing.demo import DemoBuild
from fstore_testing.redis_server import free_port

DAG_FILE = ROOT / "examples" / "airflow" / "dags" / "fstore_demo.py"
AS_OF = "2024-12-01T12:00:00"
FSYNC_TASKS = ["fsync_check", "fsync_push", "fsync_freshness"]


def _run_dag(env: dict[str, str], scenarios: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], str]:
    runner = [sys.executable, "-m", "fstore_testing.airflow_dag", str(DAG_FILE), "fstore_demo"]
    proc = subprocess.run(
        [*runner, json.dumps(scenarios)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    results = {}
    for line in proc.stdout.splitlines():
        if line.startswith("AIRFLOW-RESULT "):
            result = json.loads(line.removeprefix("AIRFLOW-RESULT "))
            results[result["name"]] = result
    return results, output


def _scenario_log(output: str, name: str) -> str:
    """What Airflow printed while running scenario `name` (task logs included)."""
    start = output.index(f"AIRFLOW-SCENARIO {name}")
    end = output.find("AIRFLOW-SCENARIO ", start + 1)
    return output[start : end if end > 0 else None]


@pytest.fixture
def airflow_env(duckdb_demo: DemoBuild, tmp_path: Path) -> dict[str, str]:
    warehouse = tmp_path / "demo.duckdb"
    shutil.copy(duckdb_demo.duckdb_path, warehouse)
    home = tmp_path / "airflow"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSYNC_", "DBT_", "AIRFLOW"))}
    dbt_env = duckdb_demo.fsync_env().items()  # the profile's FSTORE_* settings, DBT_PROFILES_DIR
    env.update({k: v for k, v in dbt_env if v is not None and not k.startswith("FSYNC_")})
    env.update({
        "PYTHONPATH": str(ROOT / "tests"),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FILE.parent),
        "FSTORE_DBT_PROJECT_DIR": str(DEMO_DIR),
        "FSTORE_DUCKDB_PATH": str(warehouse),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
        "FSTORE_AS_OF": AS_OF,
        "FSYNC_STORE": "sqlite",
        "FSYNC_SQLITE_PATH": str(tmp_path / "online.sqlite"),
    })
    return env


def test_the_demo_dag_builds_checks_pushes_and_checks_freshness(airflow_env: dict[str, str]) -> None:
    unreachable = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there: fsync push exits 3
    results, output = _run_dag(airflow_env, [
        {"name": "ok"},
        # Four days later every row has expired (ttl 2d) and the newest is 3.5 days old (SLA 26h): the push
        # writes nothing (exit 0), the freshness check fails (exit 1) at once, without a retry.
        {"name": "breach", "tasks": FSYNC_TASKS, "env": {"FSTORE_AS_OF": "2024-12-05T00:00:00"}},
        {
            "name": "unreachable", "tasks": ["fsync_push"], "no_retry_delay": True,
            "env": {"FSTORE_AS_OF": AS_OF, "FSYNC_STORE": "redis", "FSYNC_REDIS_URL": unreachable,
                    "FSYNC_RETRIES": "0"},
        },
    ])
    ok = results["ok"]
    assert ok["state"] == "success", ok
    assert {t: r["state"] for t, r in ok["tasks"].items()} == dict.fromkeys(
        ["dbt_build", *FSYNC_TASKS], "success"
    )
    push = ok["tasks"]["fsync_push"]["xcom"]
    assert push["exit_code"] == 0 and push["as_of"] == AS_OF
    assert {v["view"]: v["status"] for v in push["views"]} == {
        "user_purchase_features@1": "pushed", "user_purchase_features@2": "pushed",
        "user_session_features": "pushed",
    }
    assert all(v["rows"] > 0 for v in push["views"])
    freshness = ok["tasks"]["fsync_freshness"]["xcom"]
    assert freshness["exit_code"] == 0 and freshness["status"] in ("ok", "warn")

    breach = results["breach"]
    assert breach["state"] == "failed"
    tasks = breach["tasks"]
    assert tasks["fsync_check"]["state"] == "success" and tasks["fsync_push"]["state"] == "success"
    assert tasks["fsync_freshness"]["state"] == "failed" and tasks["fsync_freshness"]["try_number"] == 1
    log = _scenario_log(output, "breach")
    assert "fsync freshness: exit 1" in log and '"status": "breach"' in log  # the JSON is in the task log

    unreachable_run = results["unreachable"]
    assert unreachable_run["tasks"]["fsync_push"]["state"] == "failed"
    assert unreachable_run["tasks"]["fsync_push"]["try_number"] == 3  # retries=2: tried three times
    assert "fsync push: exit 3" in _scenario_log(output, "unreachable")
