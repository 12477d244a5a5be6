"""Run a DAG file with Airflow's `dag.test()` in a process of its own (Airflow configures logging, settings
and its metadata DB at import: it must not do so inside pytest), scenario after scenario, and print each
run's task states as one JSON line.

    python -m fstore_testing.airflow_dag DAG_FILE DAG_ID SCENARIOS_JSON

A scenario is {"name", "env": {...}, "tasks": [task ids] | null, "no_retry_delay": bool}: `env` is set before
the DAG file is parsed; `tasks` runs that subset of the DAG (no upstream); the result line is
`AIRFLOW-RESULT {"name", "state", "tasks": {task_id: {"state", "try_number", "xcom"}}}`.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
from datetime import timedelta
from typing import Any


def run(dag_file: str, dag_id: str, scenario: dict[str, Any]) -> dict[str, Any]:
    os.environ.update(scenario.get("env") or {})
    dag = runpy.run_path(dag_file)["dag"]
    assert dag.dag_id == dag_id, dag.dag_id
    if scenario.get("tasks"):
        dag = dag.partial_subset(task_ids=scenario["tasks"], include_upstream=False)
    if scenario.get("no_retry_delay"):
        for task in dag.tasks:
            task.retry_delay = timedelta(0)
    print(f"AIRFLOW-SCENARIO {scenario['name']}", flush=True)
    dag_run = dag.test()
    tasks = {}
    for ti in dag_run.get_task_instances():
        xcom = ti.xcom_pull(task_ids=ti.task_id, key="return_value") if ti.state == "success" else None
        tasks[ti.task_id] = {"state": str(ti.state), "try_number": ti.try_number, "xcom": xcom}
    return {"name": scenario["name"], "state": str(dag_run.state), "tasks": tasks}


def main() -> None:
    dag_file, dag_id, scenarios = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    from airflow.utils import db

    db.initdb()
    for scenario in scenarios:
        print("AIRFLOW-RESULT " + json.dumps(run(dag_file, dag_id, scenario), default=str), flush=True)


if __name__ == "__main__":
    main()
