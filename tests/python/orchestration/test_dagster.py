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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    DagsterInstance,
    ExecuteInProcessResult,
    RetryPolicy,
    materialize,
)
from dagster_dbt import DbtCliResource, dbt_assets
from fstore_testing.dbt import DEMO_DIR, dbt_executable
from fstore_testing.demo import DemoBuild
from fstore_testing.redis_server import free_port

from fsync import FeatureStore
from fsync.dagster import FsyncResource, fsync_assets
from fsync.online.stores.redis import RedisStore

AS_OF = "2024-12-01T12:00:00"
LAST_DAY = datetime(2024, 12, 1, 12, 0)
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
    fsync_config: dict[str, Any]

    def configure(self, **changes: Any) -> None:
        """The fsync resource with `changes` to its config."""
        self.fsync_config.update(changes)
        self.resources["fsync"] = FsyncResource(**self.fsync_config)

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
    }
    fsync_config = {
        "project_dir": str(DEMO_DIR), "target_path": str(target),
        "profiles_dir": str(duckdb_demo.profiles_dir), "target": "duckdb", "store": "redis",
        "key_prefix": prefix, "as_of": AS_OF,
    }
    resources["fsync"] = FsyncResource(**fsync_config)
    assets = [demo_dbt, *fsync_assets(target / "manifest.json")]
    with DagsterInstance.ephemeral() as instance:
        yield DagsterDemo(assets, resources, instance, warehouse, target, prefix, redis_url, fsync_config)


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

    result = dagster_demo.run(AssetSelection.assets(*PUSHES.values()))
    store = RedisStore(dagster_demo.redis_url, prefix=dagster_demo.prefix)
    try:
        for label, key in PUSHES.items():
            metadata = _materialization_metadata(result, key)
            assert metadata["view"] == label
            assert metadata["entities_written"] > 0 and metadata["entities_deleted"] == 0
            assert metadata["watermark"] == AS_OF and metadata["mode"] == "full"
            assert metadata["duration_s"] >= 0 and dagster_demo.prefix in metadata["store"]
            assert metadata["warnings"] == []
            watermark = store.get_watermark(STORE_IDS[label])
            assert watermark is not None and watermark["rows"] == metadata["entities_written"]
    finally:
        store.close()
    checks = _check_results(result)
    for key in PUSHES.values():
        assert checks[(key, "freshness_check")] is True, checks  # pushed just now: within 26h of the clock
        assert checks[(key, "fsync_freshness")] is True, checks  # newest feature_ts 12h before the as-of
        assert checks[(key, "fsync_skew")] is False, checks  # no served-value log exported yet: a warning
    [skew] = [e for e in result.get_asset_check_evaluations() if e.check_name == "fsync_skew"][:1]
    assert skew.severity == AssetCheckSeverity.WARN and "no served-value log" in (skew.description or "")


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
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]  # not retried


def test_an_unavailable_store_is_retried(dagster_demo: DagsterDemo) -> None:
    """exit 3 (Redis unreachable) fails the push with the asset's retry policy (exit 1 does not retry:
    test_a_failing_dbt_test_blocks_the_push)."""
    push = PUSHES["user_session_features"]
    assets = [dagster_demo.assets[0], *fsync_assets(
        dagster_demo.target / "manifest.json", retry_policy=RetryPolicy(max_retries=1), skew=False
    )]
    dagster_demo.assets = assets
    dagster_demo.configure(store="redis")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FSYNC_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
        patch.setenv("FSYNC_RETRIES", "0")
        result = dagster_demo.run(AssetSelection.assets(push).without_checks(), ok=False)
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len([e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]) == 1
    assert failures[-1].step_failure_data.user_failure_data.metadata["exit_code"].value == 3


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


def test_skew_checks_match_then_pinpoint_a_corrupted_view(
    dagster_demo: DagsterDemo, duckdb_demo: DemoBuild, tmp_path: Path
) -> None:
    dagster_demo.run(AssetSelection.assets(*PUSHES.values()))
    fsync_env = {
        "FSYNC_STORE": "redis", "FSYNC_KEY_PREFIX": dagster_demo.prefix,
        "FSYNC_REDIS_URL": dagster_demo.redis_url, "FSTORE_DUCKDB_PATH": str(dagster_demo.warehouse),
    }
    log_dir = tmp_path / "served-log"

    def serve_and_export(users: list[int]) -> None:
        with FeatureStore(DEMO_DIR, target_path=dagster_demo.target, **_store_settings(dagster_demo)) as fs:
            for _ in range(3):
                fs.get_online_features([{"user_id": u} for u in users], service="churn_model", now=LAST_DAY,
                                       log=True)
            fs.flush_log()
        res = duckdb_demo.fsync("logs", "export", "--out", str(log_dir), target_path=dagster_demo.target,
                                env=fsync_env)
        assert res.exit_code == 0, res.output

    serve_and_export([1150, 1151, 1152])
    dagster_demo.configure(skew_log_dir=str(log_dir))
    checks = [AssetCheckKey(key, "fsync_skew") for key in PUSHES.values()]
    result = dagster_demo.run(AssetSelection.checks(*checks))
    descriptions = [e.description for e in result.get_asset_check_evaluations()]
    assert set(_check_results(result).values()) == {True}, descriptions

    store = RedisStore(dagster_demo.redis_url, prefix=dagster_demo.prefix)  # behind fsync's back
    try:
        key = store.key("user_purchase_features:v2", "1151")
        value = store.r.hget(key, "purchase_count_30d")
        store.r.hset(key, "purchase_count_30d", f"i{int(value[1:]) + 7}")
    finally:
        store.close()
    since = datetime.now(UTC).replace(tzinfo=None).isoformat()
    serve_and_export([1151])
    dagster_demo.configure(skew_since=since)
    result = dagster_demo.run(AssetSelection.checks(*checks))
    assert _check_results(result) == {
        (PUSHES["user_purchase_features@1"], "fsync_skew"): True,
        (PUSHES["user_purchase_features@2"], "fsync_skew"): False,
        (PUSHES["user_session_features"], "fsync_skew"): True,
    }
    [failed] = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert "purchase_count_30d" in (failed.description or "")


def _store_settings(demo: DagsterDemo) -> dict[str, str]:
    config = demo.fsync_config
    return {
        "store": "redis", "key_prefix": demo.prefix, "profiles_dir": config["profiles_dir"],
        "target": "duckdb",
    }
