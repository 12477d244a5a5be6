"""fsync.dagster on the demo, executed in-process by Dagster against a private redis-server: dagster-dbt runs
dbt (each invocation in its own target subdirectory), the push assets materialize with their metadata, a
failing dbt test blocks the push, and a planted stale view fails its freshness check.

The demo's session build (tests/fstore_testing/demo.py) stands in for the full `dbt build` an earlier Dagster
run made: its artifacts are copied into one per-invocation directory under the target path, and the demo's
DuckDB file is copied, so that what the test plants never reaches the other tests."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    DagsterInstance,
    ExecuteInProcessResult,
    materialize,
)
from dagster_dbt import DbtCliResource, dbt_assets
from fstore_testing.dbt import DEMO_DIR, dbt_executable
from fstore_testing.demo import DemoBuild

from fsync.dagster import FsyncResource, fsync_assets
from fsync.online.stores.redis import RedisStore

AS_OF = "2024-12-01T12:00:00"
PUSHES = {
    "user_purchase_features@1": AssetKey(["fsync", "user_purchase_features_v1"]),
    "user_purchase_features@2": AssetKey(["fsync", "user_purchase_features_v2"]),
    "user_session_features": AssetKey(["fsync", "user_session_features"]),
}
STORE_IDS = {
    "user_purchase_features@1": "user_purchase_features:v1",
    "user_purchase_features@2": "user_purchase_features:v2",
    "user_session_features": "user_session_features:_",
}


@dataclass
class DagsterDemo:
    assets: list[AssetsDefinition]
    resources: dict[str, Any]
    instance: DagsterInstance
    warehouse: Path
    target: Path
    prefix: str
    redis_url: str

    def run(self, selection: AssetSelection, ok: bool = True) -> ExecuteInProcessResult:
        result = materialize(
            self.assets, selection=selection, resources=self.resources, instance=self.instance,
            raise_on_error=False,
        )
        if ok:
            failures = [e.message for e in result.all_events if e.is_step_failure]
            assert result.success, failures
        return result


@pytest.fixture
def dagster_demo(
    duckdb_demo: DemoBuild, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DagsterDemo]:
    warehouse = tmp_path / "demo.duckdb"
    shutil.copy(duckdb_demo.duckdb_path, warehouse)
    target = tmp_path / "target"
    earlier_build = target / "demo_dbt-0000000-build"
    earlier_build.mkdir(parents=True)
    for name in ("manifest.json", "run_results.json"):
        shutil.copy(duckdb_demo.target_path / name, earlier_build / name)
    shutil.copy(duckdb_demo.target_path / "manifest.json", target / "manifest.json")
    for name, value in duckdb_demo.fsync_env().items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        elif not name.startswith("FSYNC_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("FSTORE_DUCKDB_PATH", str(warehouse))
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))  # dagster-dbt's invocations: target/<op>-<run>-<id>/
    monkeypatch.setenv("FSYNC_REDIS_URL", redis_url)
    prefix = f"dg{uuid.uuid4().hex[:8]}"

    @dbt_assets(manifest=target / "manifest.json")
    def demo_dbt(context, dbt: DbtCliResource):  # type: ignore[no-untyped-def]
        yield from dbt.cli(["build"], context=context).stream()

    resources = {
        "dbt": DbtCliResource(
            project_dir=str(DEMO_DIR), profiles_dir=str(duckdb_demo.profiles_dir), target="duckdb",
            dbt_executable=str(dbt_executable()),
        ),
        "fsync": FsyncResource(
            project_dir=str(DEMO_DIR), target_path=str(target), profiles_dir=str(duckdb_demo.profiles_dir),
            target="duckdb", store="redis", key_prefix=prefix, as_of=AS_OF,
        ),
    }
    assets = [demo_dbt, *fsync_assets(target / "manifest.json")]
    with DagsterInstance.ephemeral() as instance:
        yield DagsterDemo(assets, resources, instance, warehouse, target, prefix, redis_url)


def _materialization_metadata(result: ExecuteInProcessResult, key: AssetKey) -> dict[str, Any]:
    [event] = [m for m in result.get_asset_materialization_events() if m.asset_key == key]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _check_results(result: ExecuteInProcessResult) -> dict[tuple[AssetKey, str], bool]:
    return {(e.asset_key, e.check_name): e.passed for e in result.get_asset_check_evaluations()}


def test_push_assets_after_a_partial_dbt_run(dagster_demo: DagsterDemo) -> None:
    """dagster-dbt builds only stg_users (a partial run in its own target dir); the push assets then
    materialize every view from the earlier build's health, with their metadata and checks."""
    dagster_demo.run(AssetSelection.assets(AssetKey(["stg_users"])))
    partial = [p for p in dagster_demo.target.iterdir() if p.is_dir() and (p / "run_results.json").exists()]
    assert len(partial) == 2  # the earlier build's directory and the partial run's

    result = dagster_demo.run(AssetSelection.assets(*PUSHES.values()) - AssetSelection.checks_for_assets(*PUSHES.values()) | AssetSelection.checks(*[AssetCheckKey(k, "freshness_check") for k in PUSHES.values()]))  # TEMP
    store = RedisStore(dagster_demo.redis_url, prefix=dagster_demo.prefix)
    try:
        for label, key in PUSHES.items():
            metadata = _materialization_metadata(result, key)
            assert metadata["view"] == label
            assert metadata["entities_written"] > 0 and metadata["entities_deleted"] == 0
            assert metadata["watermark"] == AS_OF and metadata["mode"] == "full"
            assert metadata["duration_s"] >= 0 and dagster_demo.prefix in metadata["store"]
            watermark = store.get_watermark(STORE_IDS[label])
            assert watermark is not None and watermark["rows"] == metadata["entities_written"]
    finally:
        store.close()
    checks = _check_results(result)
    for key in PUSHES.values():  # pushed just now: within the 26h SLA of the wall clock
        assert checks[(key, "freshness_check")] is True, checks


def test_a_failing_dbt_test_blocks_the_push(dagster_demo: DagsterDemo) -> None:
    with duckdb.connect(str(dagster_demo.warehouse)) as con:  # a duplicate (user_id, feature_ts) row
        con.execute("insert into main.user_session_features select * from main.user_session_features limit 1")
    view_model = AssetKey(["user_session_features"])
    push = PUSHES["user_session_features"]
    # The dbt tests of the view (as dagster-dbt asset checks) and the push in one run: dbt fails, the push
    # downstream of the failed step does not run.
    selection = AssetSelection.checks_for_assets(view_model) | AssetSelection.assets(push)
    result = dagster_demo.run(selection, ok=False)
    assert not result.success
    checks = _check_results(result)
    assert any(not passed and "unique_combination" in name for (_, name), passed in checks.items()), checks
    assert not [m for m in result.get_asset_materialization_events() if m.asset_key == push]
    # Asked for alone, the push is refused by fsync: the view's latest test failed.
    result = dagster_demo.run(AssetSelection.assets(push), ok=False)
    [failure] = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.user_failure_data.description
    assert "refused" in message and "its tests did not pass" in message and "unique_combination" in message
    assert failure.step_failure_data.user_failure_data.metadata["exit_code"].value == 1


def test_a_stale_view_fails_the_freshness_check(dagster_demo: DagsterDemo) -> None:
    dagster_demo.run(AssetSelection.assets(*PUSHES.values()))
    with duckdb.connect(str(dagster_demo.warehouse)) as con:  # the view's newest day is now 2024-11-28
        con.execute("delete from main.user_session_features where feature_ts > '2024-11-28'")
    checks = [AssetCheckKey(key, "fsync_freshness") for key in PUSHES.values()]
    result = dagster_demo.run(AssetSelection.checks(*checks), ok=False)
    evaluations = _check_results(result)
    assert evaluations == {
        (PUSHES["user_purchase_features@1"], "fsync_freshness"): True,
        (PUSHES["user_purchase_features@2"], "fsync_freshness"): True,
        (PUSHES["user_session_features"], "fsync_freshness"): False,
    }
