"""Push health over several dbt invocations, on the demo with real dbt runs: a partial `dbt run` after a build
no longer refuses the views the build built and tested; per-invocation target dirs (as dagster-dbt writes
them) are read together; a view rebuilt without its tests, or whose latest test failed, is still refused (also
behind a later partial run)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
from fstore_testing.dbt import DbtResult
from fstore_testing.demo import DemoBuild

AS_OF = "2024-12-01T12:00:00"
ONLINE = {"user_purchase_features@1", "user_purchase_features@2", "user_session_features"}


def _artifacts(demo: DemoBuild, dest: Path) -> Path:
    """The build's manifest.json and run_results.json in a fresh target dir (no fsync record yet)."""
    dest.mkdir(parents=True)
    for name in ("manifest.json", "run_results.json"):
        shutil.copy(demo.target_path / name, dest / name)
    return dest


def _dbt(
    demo: DemoBuild, target: Path, *args: str, duckdb_path: Path | None = None, ok: bool = True
) -> DbtResult:
    env = {**demo.build.dbt.env, **({"FSTORE_DUCKDB_PATH": str(duckdb_path)} if duckdb_path else {})}
    runner = dataclasses.replace(demo.build.dbt, target_path=target, env=env)
    return runner.ok(*args) if ok else runner.run(*args)


def _push(demo: DemoBuild, target: Path, store: Path, duckdb_path: Path | None = None) -> tuple[int, dict]:
    env = {"FSYNC_STORE": "sqlite", "FSYNC_SQLITE_PATH": str(store)}
    if duckdb_path:
        env["FSTORE_DUCKDB_PATH"] = str(duckdb_path)
    res = demo.fsync("push", "--as-of", AS_OF, "--json", target_path=target, env=env)
    return res.exit_code, json.loads(res.output)


def _status(summary: dict[str, Any]) -> dict[str, str]:
    return {v["view"]: v["status"] for v in summary["views"]}


def _message(summary: dict[str, Any], view: str) -> str:
    return next(v["message"] for v in summary["views"] if v["view"] == view)


def test_a_partial_run_after_the_build_keeps_the_views_publishable(
    duckdb_demo: DemoBuild, tmp_path: Path
) -> None:
    """`dbt build`, fsync reads it (here `fsync views`), `dbt run -s stg_users` rewrites run_results.json with
    one result: every view is still published from the build that built and tested it."""
    target = _artifacts(duckdb_demo, tmp_path / "target")
    views = json.loads(duckdb_demo.fsync("views", "--json", target_path=target).output)
    assert {v["view"] for v in views if v["online"] and v["blocked"] is None} == ONLINE
    _dbt(duckdb_demo, target, "run", "-s", "stg_users")
    results = json.loads((target / "run_results.json").read_text())
    assert [r["unique_id"] for r in results["results"] if r["unique_id"].startswith("model.")] == [
        "model.fstore_demo.stg_users"
    ]
    code, summary = _push(duckdb_demo, target, tmp_path / "online.sqlite")
    assert code == 0, summary
    assert _status(summary) == dict.fromkeys(ONLINE, "pushed")
    assert (target / "fsync" / "build_health.json").is_file()


def test_per_invocation_target_dirs_are_read_together(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    """dagster-dbt writes each invocation into its own directory under target/: the build's and a later
    partial run's results are both read from `--target-path target`, with no earlier fsync run needed."""
    target = tmp_path / "target"
    _artifacts(duckdb_demo, target / "1764590000-build")
    shutil.copy(duckdb_demo.target_path / "manifest.json", target / "manifest.json")
    _dbt(duckdb_demo, target / "1764590100-partial", "run", "-s", "stg_users")
    code, summary = _push(duckdb_demo, target, tmp_path / "online.sqlite")
    assert code == 0, summary
    assert _status(summary) == dict.fromkeys(ONLINE, "pushed")


def test_a_view_rebuilt_without_its_tests_is_refused_until_they_run(
    duckdb_demo: DemoBuild, tmp_path: Path
) -> None:
    target = _artifacts(duckdb_demo, tmp_path / "target")
    assert duckdb_demo.fsync("views", target_path=target).exit_code == 0
    _dbt(duckdb_demo, target, "run", "-s", "user_session_features")
    code, summary = _push(duckdb_demo, target, tmp_path / "online.sqlite")
    assert code == 1
    assert _status(summary) == {**dict.fromkeys(ONLINE, "pushed"), "user_session_features": "refused"}
    assert "did not run since `dbt run` rebuilt the model" in _message(summary, "user_session_features")
    _dbt(duckdb_demo, target, "test", "-s", "user_session_features")
    code, summary = _push(duckdb_demo, target, tmp_path / "online.sqlite")
    assert code == 0, summary
    assert _status(summary)["user_session_features"] == "pushed"


def test_a_failed_test_stays_refused_behind_a_partial_run(
    duckdb_demo: DemoBuild, tmp_path: Path
) -> None:
    """A duplicate row planted in (a copy of) the warehouse fails the view's uniqueness test; a later
    `dbt run -s stg_users` does not make the view publishable again (a later `dbt compile`, recorded or not:
    test_guarantee.py)."""
    warehouse = tmp_path / "demo.duckdb"
    shutil.copy(duckdb_demo.duckdb_path, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into main.user_session_features select * from main.user_session_features limit 1")
    target = _artifacts(duckdb_demo, tmp_path / "target")
    assert duckdb_demo.fsync("views", target_path=target).exit_code == 0  # fsync has seen the build
    failed = _dbt(duckdb_demo, target, "test", "-s", "user_session_features", duckdb_path=warehouse, ok=False)
    assert failed.returncode == 1, failed.tail()
    code, summary = _push(duckdb_demo, target, tmp_path / "online.sqlite", warehouse)
    assert code == 1 and _status(summary)["user_session_features"] == "refused"
    _dbt(duckdb_demo, target, "run", "-s", "stg_users", duckdb_path=warehouse)
    code, summary = _push(duckdb_demo, target, tmp_path / "online.sqlite", warehouse)
    assert code == 1
    assert _status(summary) == {**dict.fromkeys(ONLINE, "pushed"), "user_session_features": "refused"}, [
        v["message"] for v in summary["views"]
    ]
    message = _message(summary, "user_session_features")
    assert "its tests did not pass" in message and "unique_combination" in message and "fail" in message
