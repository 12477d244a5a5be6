"""The SDK (`from fsync import FeatureStore`) on the demo: services shaped like training sets, online reads on
both stores with statuses, historical features from the compiled point_in_time_join, and bad requests.

The guarantee: for every demo user at time T, the online row of a service equals the training set's row
for the label (user, T), column by column, value and type, on DuckDB and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from fstore_testing.demo import DemoBuild
from fstore_testing.stores import store_settings

import fsync.registry.training_set
import fsync.serving.historical
from fsync import FeatureStore
from fsync.errors import FsyncError

T = datetime(2024, 6, 15, 12, 0)
LAST_DAY = datetime(2024, 12, 1, 12, 0)


UseDemo = Callable[[DemoBuild, dict[str, str]], None]


@pytest.fixture
def use_demo(monkeypatch: pytest.MonkeyPatch) -> Iterator[UseDemo]:
    """Run in the demo's environment (as a user's shell after dbt build): apply(demo, store_env)."""

    def apply(demo: DemoBuild, store_env: dict[str, str]) -> None:
        for k, v in {**demo.fsync_env(), **store_env}.items():
            if v is None:
                monkeypatch.delenv(k, raising=False)
            else:
                monkeypatch.setenv(k, v)

    yield apply


def _pushed(
    demo: DemoBuild, kind: str, redis_url: str, tmp_path: Path, as_of: datetime, use_demo: UseDemo
) -> FeatureStore:
    env = store_settings(kind, redis_url, tmp_path)
    use_demo(demo, env)
    result = demo.fsync("push", "--as-of", as_of.isoformat(), env=env)
    assert result.exit_code == 0, result.output
    return FeatureStore(demo.project_dir)


def _users(demo: DemoBuild) -> list[int]:
    if demo.engine == "duckdb":
        con = duckdb.connect(str(demo.duckdb_path), read_only=True)
        try:
            return [
                r[0] for r in con.execute("select distinct user_id from main.stg_users order by 1").fetchall()
            ]
        finally:
            con.close()
    con = demo.build.warehouse.pg.connect()
    try:
        with con.cursor() as cur:
            cur.execute(f"select distinct user_id from {demo.schema}.stg_users order by 1")
            return [r[0] for r in cur.fetchall()]
    finally:
        con.close()


def _assert_service_equals_training_set(
    fs: FeatureStore, service: str, users: list[int], at: datetime
) -> int:
    labels = pd.DataFrame({"user_id": users, "label_ts": [at] * len(users)})
    spec = fs.service(service)
    ts = fs.get_historical_features(labels, training_set=spec.training_set)
    online = fs.get_online_features(entity_rows=[{"user_id": u} for u in users], service=service, now=at)
    assert online.feature_names == spec.feature_names
    table = online.to_arrow()
    assert table.column_names == ["user_id", *spec.feature_names]
    assert ts.column("user_id").to_pylist() == users == online.columns["user_id"]
    for name in spec.feature_names:  # exactly the training set's columns, values and types
        assert name in ts.column_names
        assert table.schema.field(name).type == ts.schema.field(name).type, name
        assert online.columns[name] == ts.column(name).to_pylist(), name
        assert [type(v) for v in online.columns[name]] == [type(v) for v in ts.column(name).to_pylist()], name
    served = 0
    for view in spec.views:
        matched = ts.column(view.prefix + view.view.timestamp).to_pylist()
        for state, stamp, want in zip(
            online.statuses[view.view.label], online.feature_ts[view.view.label], matched, strict=True
        ):
            if want is None:
                assert state in ("missing", "expired")
            else:
                assert state in ("present", "null") and stamp == want
                served += 1
    return served


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
@pytest.mark.parametrize("service", ["training_churn", "training_fraud", "churn_model"])
def test_service_online_row_equals_the_training_set_row(
    duckdb_demo: DemoBuild, kind: str, service: str, redis_url: str, tmp_path: Path, use_demo: UseDemo
) -> None:
    fs = _pushed(duckdb_demo, kind, redis_url, tmp_path, T, use_demo)
    try:
        users = _users(duckdb_demo) + [999_999]  # and one user the store never saw
        assert _assert_service_equals_training_set(fs, service, users, T) > 100
    finally:
        fs.close()


@pytest.mark.postgres
def test_service_online_row_equals_the_training_set_row_on_postgres(
    pg_demo: DemoBuild, redis_url: str, tmp_path: Path, use_demo: UseDemo
) -> None:
    fs = _pushed(pg_demo, "redis", redis_url, tmp_path, T, use_demo)
    try:
        assert _assert_service_equals_training_set(fs, "training_churn", _users(pg_demo), T) > 100
    finally:
        fs.close()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_statuses_present_null_missing_expired(
    duckdb_demo: DemoBuild, kind: str, redis_url: str, tmp_path: Path, use_demo: UseDemo
) -> None:
    fs = _pushed(duckdb_demo, kind, redis_url, tmp_path, LAST_DAY, use_demo)
    try:
        feature = ["user_purchase_features@2:amount_avg_14d", "user_session_features:session_count_7d"]
        got = fs.get_online_features(
            entity_rows={"user_id": [1150, 1151, 424242]}, features=feature, now=LAST_DAY
        )
        assert got.feature_names == [
            "user_purchase_features__amount_avg_14d",
            "user_session_features__session_count_7d",
        ]
        assert got.statuses["user_purchase_features@2"] == ["null", "null", "missing"]
        assert got.statuses["user_session_features"][2] == "missing"
        assert got.feature_statuses()["user_purchase_features__amount_avg_14d"] == [
            "NULL_VALUE",
            "NULL_VALUE",
            "NOT_FOUND",
        ]
        assert got.feature_ts["user_purchase_features@2"][:2] == [datetime(2024, 12, 1)] * 2
        assert got.staleness["user_purchase_features@2"][0] == timedelta(hours=12)
        later = LAST_DAY + timedelta(days=3)  # past feature_ts + ttl (2d): not served, said so
        old = fs.get_online_features(entity_rows=[{"user_id": 1150}], service="training_churn", now=later)
        assert old.statuses == {"user_purchase_features@2": ["expired"], "user_session_features": ["expired"]}
        assert set(old.feature_statuses()["purchase__purchase_count_30d"]) == {"OUTSIDE_MAX_AGE"}
        assert all(v == [None] for k, v in old.to_dict().items() if k != "user_id")
        fresh = fs.get_online_features(
            entity_rows=[{"user_id": "1150"}], service="training_churn", now=LAST_DAY
        )
        assert fresh.statuses["user_purchase_features@2"] == ["present"] and fresh.columns["user_id"] == [
            1150
        ]
        frame = fresh.to_pandas()
        assert (
            list(frame.columns) == ["user_id", *fs.service("training_churn").feature_names]
            and len(frame) == 1
        )
    finally:
        fs.close()


def test_historical_features_are_the_dbt_training_set_and_compile_once(
    duckdb_demo: DemoBuild, tmp_path: Path, use_demo: UseDemo, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_demo(duckdb_demo, store_settings("sqlite", "", tmp_path))
    fs = FeatureStore(duckdb_demo.project_dir)
    got = fs.get_historical_features("stg_churn_labels", training_set="training_churn")
    con = duckdb.connect(str(duckdb_demo.duckdb_path), read_only=True)
    try:
        want = con.execute("select * from main.training_churn")
        names = [d[0] for d in want.description]
        rows = want.fetchall()
        labels = con.execute("select * from main.stg_churn_labels").fetchall()
    finally:
        con.close()
    assert got.column_names == names
    got_rows = [tuple(r.values()) for r in got.to_pylist()]
    # The same rows as the model's table (which has no row order), in the labels' order.
    assert sorted(got_rows, key=repr) == sorted(rows, key=repr)
    assert [r[: len(labels[0])] for r in got_rows] == labels
    # Every later call, in this process or a new one, reuses the compiled SQL: dbt is not run again.
    monkeypatch.setattr(fsync.serving.historical, "compile_sql", _no_dbt)
    again = FeatureStore(duckdb_demo.project_dir).get_historical_features(
        "stg_churn_labels", training_set="training_churn"
    )
    assert again.equals(got)
    labels = pd.DataFrame({"user_id": [1150, 1150, -1], "label_ts": [LAST_DAY, T, T]})
    monkeypatch.setattr(fsync.serving.historical, "compile_sql", fsync.registry.training_set.compile_sql)
    first = fs.get_historical_features(labels, features=["user_purchase_features:purchase_count_30d"])
    monkeypatch.setattr(fsync.serving.historical, "compile_sql", _no_dbt)
    second = fs.get_historical_features(
        labels.iloc[::-1], features=["user_purchase_features:purchase_count_30d"]
    )
    assert first.column_names == [
        "user_id",
        "label_ts",
        "user_purchase_features__feature_ts",
        "user_purchase_features__purchase_count_30d",
    ]
    assert first.column("user_id").to_pylist() == [1150, 1150, -1]  # label order and duplicates kept
    assert second.column("user_id").to_pylist() == [-1, 1150, 1150]
    assert first.column("user_purchase_features__purchase_count_30d").to_pylist()[2] is None


def _no_dbt(*args: object) -> str:
    raise AssertionError("dbt compile ran again for a shape already compiled")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            dict(service="training_chrun"),
            "no feature service named 'training_chrun'. Did you mean 'training_churn'?",
        ),
        (
            dict(features=["user_purchase_features:nope"]),
            "'nope' is not one of its features of user_purchase_features@2",
        ),
        (dict(features=["no_such_view:x"]), "no feature view named 'no_such_view'"),
        (dict(features=["user_purchase_features"]), "is not a feature; write VIEW:FEATURE"),
        (dict(features=["user_purchase_features@7:purchase_count_30d"]), "has no version 7"),
        (dict(service="training_churn", features=["a:b"]), "give either features=[...] or service=NAME"),
        (dict(service="training_churn", rows=[{"user_ID": 1}]), "entity key 'user_ID' is not a key"),
        (dict(service="training_churn", rows=[{}]), "every entity needs a value of 'user_id'"),
        (dict(service="training_churn", rows=[{"user_id": "x1"}]), "is an integer column; got 'x1'"),
        (dict(service="training_churn", rows=[{"user_id": None}]), "entity key 'user_id' of"),
        (dict(service="training_churn", now="yesterday"), "now 'yesterday' is not an ISO timestamp"),
        (dict(service="training_churn", rows={"user_id": [1, 2], "x": [1, 2]}), "is not a key"),
    ],
)
def test_bad_requests_say_what_and_how_to_fix(
    duckdb_demo: DemoBuild, tmp_path: Path, use_demo: UseDemo, call: dict[str, Any], message: str
) -> None:
    use_demo(duckdb_demo, store_settings("sqlite", "", tmp_path))
    fs = FeatureStore(duckdb_demo.project_dir)
    rows = call.pop("rows", [{"user_id": 1150}])
    with pytest.raises(FsyncError) as err:
        fs.get_online_features(entity_rows=rows, **call)
    assert message in str(err.value)
    assert err.value.exit_code == 2


def test_services_of_the_demo(duckdb_demo: DemoBuild, tmp_path: Path, use_demo: UseDemo) -> None:
    use_demo(duckdb_demo, store_settings("sqlite", "", tmp_path))
    fs = FeatureStore(duckdb_demo.project_dir)
    assert [s.name for s in fs.list_services()] == [
        "churn_model",
        "fraud_model",
        "training_churn",
        "training_fraud",
    ]
    churn, fraud = fs.service("churn_model"), fs.service("fraud_model")
    assert churn.feature_names == fs.service("training_churn").feature_names and churn.log_rate == 1.0
    assert fraud.feature_names == [
        "purchase__purchase_count_30d",
        "purchase__amount_sum_30d",
        "session__session_count_7d",
    ]
    assert [v.view.label for v in fraud.views] == ["user_purchase_features@1", "user_session_features"]
    assert fraud.log_rate == 0.5 and fs.services.problems == {}
