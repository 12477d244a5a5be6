"""Skew, end to end on the demo with a private redis-server: push, serve a workload through the SDK with the
served-value log on, export it, and `fsync skew` replays every read with the same point_in_time_join: 100 %
exact. Then one online value is corrupted behind fsync's back, and skew pinpoints that feature and key."""

from __future__ import annotations

import dataclasses
import json
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fstore_testing.demo import DemoBuild
from fstore_testing.stores import store_settings

from fsync import FeatureStore
from fsync.monitoring.skew import split_entity_key
from fsync.online.encoding import entity_key
from fsync.online.stores.redis import RedisStore

LAST_DAY = datetime(2024, 12, 1, 12, 0)
USERS = [1150, 1151, 1152, 1160, 1175, 1200, 1201, 1230, 999_999]  # 999_999: never pushed (both absent)


@pytest.fixture
def env(
    duckdb_demo: DemoBuild, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    demo = duckdb_demo
    env = {**demo.fsync_env(), **store_settings("redis", redis_url, tmp_path)}
    for k, v in env.items():  # the SDK in this process reads the same environment as the CLI
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, v)
    result = demo.fsync("push", "--as-of", LAST_DAY.isoformat(), env=env)
    assert result.exit_code == 0, result.output
    return {k: v for k, v in env.items() if v is not None}


def _workload(fs: FeatureStore, seed: int, n: int) -> None:
    rng = random.Random(seed)
    for i in range(n):
        users = rng.sample(USERS, rng.randint(1, 4))
        now = LAST_DAY + timedelta(hours=rng.choice([0, 3, 20]))  # all within the 2d TTL of 2024-12-01
        fs.get_online_features([{"user_id": u} for u in users], service="churn_model", now=now, log=True)
        if i % 3 == 0:
            fs.get_online_features(
                [{"user_id": u} for u in users],
                features=[
                    "user_purchase_features@1:amount_avg_14d",
                    "user_session_features:session_count_28d",
                ],
                now=now,
                log=True,
            )
    fs.flush_log()


def _skew(demo: DemoBuild, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    res = demo.fsync("skew", *args, "--json", env=env)
    return res.exit_code, json.loads(res.stdout)


def test_split_entity_key_inverts_entity_key() -> None:
    for parts in [("42",), ("a|b", "c\\d", ""), ("|", "\\|\\")]:
        assert split_entity_key(entity_key(parts)) == list(parts)


def test_skew_is_zero_then_pinpoints_a_corrupted_value(
    duckdb_demo: DemoBuild, env: dict[str, str], tmp_path: Path
) -> None:
    demo = duckdb_demo
    out = tmp_path / "log"
    with FeatureStore(demo.project_dir) as fs:
        _workload(fs, seed=1, n=30)
    assert demo.fsync("logs", "export", "--out", str(out), env=env).exit_code == 0

    code, report = _skew(demo, env, "--log-dir", str(out))
    assert code == 0 and report["status"] == "ok", report
    assert report["rows"] > 100
    views = {f["view"] for f in report["features"]}
    assert views == {"user_purchase_features@1", "user_purchase_features@2", "user_session_features"}
    for f in report["features"]:
        assert f["exact_match_rate"] == 1.0 and f["mismatches"] == f["missing"] == f["extra"] == 0, f
    assert sum(f["compared"] for f in report["features"]) > 100
    assert set(report["feature_ts_mismatches"].values()) == {0}

    # Corrupt one online value behind fsync's back: user 1151's purchase_count_30d of v2.
    store = RedisStore(env["FSYNC_REDIS_URL"], prefix=env["FSYNC_KEY_PREFIX"])
    try:
        key = store.key("user_purchase_features:v2", "1151")
        true_value = store.r.hget(key, "purchase_count_30d")
        assert true_value is not None
        store.r.hset(key, "purchase_count_30d", f"i{int(true_value[1:]) + 7}")
    finally:
        store.close()
    since = datetime.now(UTC).replace(tzinfo=None)
    with FeatureStore(demo.project_dir) as fs:
        for _ in range(3):
            fs.get_online_features(
                [{"user_id": 1151}, {"user_id": 1150}], service="churn_model", log=True, now=LAST_DAY
            )
        fs.flush_log()
    assert demo.fsync("logs", "export", "--out", str(out), env=env).exit_code == 0

    code, report = _skew(demo, env, "--log-dir", str(out), "--since", since.isoformat())
    assert code == 1 and report["status"] == "skew"
    bad = [f for f in report["features"] if f["exact_match_rate"] < 1.0]
    assert [(f["view"], f["feature"]) for f in bad] == [("user_purchase_features@2", "purchase_count_30d")]
    (f,) = bad
    assert (f["compared"], f["mismatches"], f["mean_abs_diff"]) == (6, 3, 3.5)
    assert {w["entity_key"] for w in f["worst_keys"]} == {"1151"}
    assert {w["served"] - w["expected"] for w in f["worst_keys"]} == {7}
    # The whole log: the earlier reads still match, so the rate is diluted; a threshold above it passes.
    code, whole = _skew(demo, env, "--log-dir", str(out))
    (f_all,) = [f for f in whole["features"] if f["exact_match_rate"] < 1.0]
    assert code == 1 and f_all["mismatches"] == 3
    code, _ = _skew(
        demo, env, "--log-dir", str(out), "--threshold", str(1 - f_all["exact_match_rate"] + 1e-9)
    )
    assert code == 0
    text = demo.fsync("skew", "--log-dir", str(out), "--since", since.isoformat(), env=env)
    assert text.exit_code == 1
    assert "user_purchase_features@2:purchase_count_30d: SKEW" in text.stdout and "key 1151" in text.stdout


def test_skew_from_the_warehouse_table_and_errors(
    duckdb_demo: DemoBuild, env: dict[str, str], tmp_path: Path
) -> None:
    import shutil

    demo = duckdb_demo
    # A copy (the export writes into the warehouse) of the same file name: the compiled SQL names its catalog.
    warehouse = tmp_path / demo.duckdb_path.name
    shutil.copy(demo.duckdb_path, warehouse)
    env = {**env, "FSYNC_DUCKDB_PATH": str(warehouse)}
    code, out = _skew(demo, env)
    assert code == 2 and "fsync logs export --to-warehouse" in out["error"]["message"]
    with FeatureStore(demo.project_dir, duckdb_path=str(warehouse)) as fs:
        _workload(fs, seed=2, n=10)
    assert demo.fsync("logs", "export", "--to-warehouse", env=env).exit_code == 0
    code, report = _skew(demo, env, "--service", "churn_model")
    assert code == 0 and report["source"] == "warehouse:fsync_served_values", report
    assert {f["view"] for f in report["features"]} == {"user_purchase_features@2", "user_session_features"}
    # The same report as a dbt model of the package, enabled by a var, over the exported table.
    dbt = dataclasses.replace(
        demo.build.dbt,
        env={**demo.build.dbt.env, "FSTORE_DUCKDB_PATH": str(warehouse)},
        target_path=tmp_path / "target",
    )
    dbt.ok("run", "--select", "fstore.fstore_skew", dbt_vars={"fstore_skew_enabled": True})
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        in_sql = con.execute(
            f"select view_label, feature, n_rows, compared, matches, missing, extra, exact_match_rate"
            f" from {demo.schema}.fstore_skew order by 1, 2"
        ).fetchall()
    finally:
        con.close()
    _, whole = _skew(demo, env)
    in_python = sorted(
        (f["view"], f["feature"], f["rows"], f["compared"], f["matches"], f["missing"], f["extra"], 1.0)
        for f in whole["features"]
    )
    assert in_sql == in_python and len(in_sql) >= 12

    code, out = _skew(demo, env, "--threshold", "2")
    assert code == 2 and "--threshold" in out["error"]["message"]
    code, out = _skew(demo, env, "--log-dir", str(tmp_path / "nothing"))
    assert code == 2 and "no exported log files" in out["error"]["message"]
    assert os.path.exists(warehouse)
