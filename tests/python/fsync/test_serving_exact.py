"""Serving-exact training sets: with the push log on, a training set joined on availability time
(get_historical_features(..., available_at=<push log>), point_in_time_join's `available_at`) equals, row for
row, what the online store served - push delays and expiry included - while the plain as-of join does not."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from fstore_testing.demo import DemoBuild
from fstore_testing.stores import store_settings

from fsync import FeatureStore
from fsync.jsonvalue import jsonable

FEATURES = [
    "user_purchase_features@2:purchase_count_30d",
    "user_purchase_features@2:amount_sum_30d",
    "user_session_features:session_count_7d",
]
USERS = [1150, 1151, 1152, 1160, 1175, 1200, 1230, 999_999]
PUSH_1, PUSH_2 = datetime(2024, 11, 29, 12), datetime(2024, 11, 30, 12)  # the second: sessions only


@pytest.fixture
def env(duckdb_demo: DemoBuild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    demo = duckdb_demo
    warehouse = (
        tmp_path / "wh" / demo.duckdb_path.name
    )  # a copy (the exports write into it), same catalog name
    warehouse.parent.mkdir()
    shutil.copy(demo.duckdb_path, warehouse)
    env = {**demo.fsync_env(), **store_settings("sqlite", "", tmp_path)}
    env |= {"FSYNC_PUSH_LOG": "true", "FSYNC_DUCKDB_PATH": str(warehouse)}
    for k, v in env.items():
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, v)
    return {k: v for k, v in env.items() if v is not None}


def _serve(fs: FeatureStore, nows: list[datetime]) -> None:
    for now in nows:
        fs.get_online_features([{"user_id": u} for u in USERS], features=FEATURES, now=now, log=True)
    fs.flush_log()


def test_a_training_set_on_availability_time_equals_what_was_served(
    duckdb_demo: DemoBuild, env: dict[str, str]
) -> None:
    demo = duckdb_demo
    assert demo.fsync("push", "--as-of", PUSH_1.isoformat(), env=env).exit_code == 0
    with FeatureStore(demo.project_dir) as fs:
        _serve(fs, [PUSH_1 + timedelta(hours=1), PUSH_1 + timedelta(hours=18)])  # before the second push
    res = demo.fsync("push", "--as-of", PUSH_2.isoformat(), "-s", "user_session_features", env=env)
    assert res.exit_code == 0, res.output
    with FeatureStore(demo.project_dir) as fs:
        # 2024-12-01 06:00: v2's rows (2024-11-29 + 2d) have expired, the sessions' have not
        _serve(fs, [PUSH_2 + timedelta(hours=6), PUSH_2 + timedelta(hours=18), PUSH_2 + timedelta(hours=35)])
    res = demo.fsync("logs", "export", "--to-warehouse", "--push-log", "--json", env=env)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["push_log"]["rows"] > 0

    con = duckdb.connect(env["FSYNC_DUCKDB_PATH"], read_only=True)
    try:
        served = con.execute(
            f"select view, entity_key, served_now, status, feature_ts, feature_values"
            f" from {demo.schema}.fsync_served_values order by log_id, view, entity_key"
        ).fetchall()
    finally:
        con.close()
    assert len(served) == 5 * len(USERS) * 2
    statuses = {r[3] for r in served}
    assert {"present", "missing", "expired"} <= statuses

    by_read: dict[tuple[int, datetime], dict[str, Any]] = {}
    for view, key, now, status, feature_ts, values in served:
        by_read.setdefault((int(key), now), {})[view] = (status, feature_ts, json.loads(values))
    labels = pd.DataFrame({"user_id": [k for k, _ in by_read], "label_ts": [t for _, t in by_read]})
    with FeatureStore(demo.project_dir) as fs:
        exact = fs.get_historical_features(
            labels, features=FEATURES, available_at=f"{demo.schema}.fsync_push_log"
        )
        plain = fs.get_historical_features(labels, features=FEATURES)
    prefixes = {
        "user_purchase_features": "user_purchase_features__",
        "user_session_features": "user_session_features__",
    }
    differs = 0
    for i, row in enumerate(exact.to_pylist()):
        read = by_read[(row["user_id"], row["label_ts"])]
        for view, prefix in prefixes.items():
            status, feature_ts, values = read[view]
            if status in ("present", "null"):
                assert row[f"{prefix}feature_ts"] == feature_ts, (row, read)
                for name, value in values.items():
                    assert jsonable(row[prefix + name]) == value, (name, row, read)
            else:
                assert row[f"{prefix}feature_ts"] is None, (row, read)
            if plain.to_pylist()[i][f"{prefix}feature_ts"] != row[f"{prefix}feature_ts"]:
                differs += 1
    assert len(by_read) == 5 * len(USERS)
    assert differs > 0  # the plain as-of join does not reproduce what was served
