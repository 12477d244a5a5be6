"""The guarantee on the demo project itself: after `fsync push --as-of T`, every user of every published demo
view (user_purchase_features v1 and v2, user_session_features) reads back from the online store exactly as
fstore.point_in_time_join gives it at label_ts = T — the same macro the training sets use — on both stores."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from fstore_testing.cli import fsync
from fstore_testing.demo import DemoBuild
from fstore_testing.stores import open_store_from_env, store_settings

from fsync.online.encoding import entity_key

# (store id, model, version)
DEMO_VIEWS = [
    ("user_purchase_features:v1", "user_purchase_features", 1),
    ("user_purchase_features:v2", "user_purchase_features", 2),
    ("user_session_features:_", "user_session_features", None),
]
PURCHASE_COLS = ["purchase_count_30d", "amount_sum_30d", "amount_avg_14d", "amount_max_30d",
                 "order_count_30d", "failed_payment_count_30d"]
SESSION_COLS = ["session_count_7d", "session_count_28d", "session_seconds_sum_7d", "session_seconds_avg_7d",
                "session_seconds_max_7d"]


def _cols(model: str) -> list[str]:
    return SESSION_COLS if model == "user_session_features" else PURCHASE_COLS


# mid-year: every user has a row within the 2d TTL; after the spine's end (2024-12-01) + 2d: all expired
AS_OF = [datetime(2024, 6, 15, 12, 0), datetime(2024, 12, 3, 0, 0, 1)]


def _expected(demo: DemoBuild, as_of: datetime) -> dict[str, dict[tuple, tuple]]:
    """point_in_time_join of every user at label_ts = as_of, compiled by dbt from the real macros."""
    views = []
    for i, (_, model, version) in enumerate(DEMO_VIEWS):
        views.append(
            f"fstore.feature_view('{model}', version={version or 'none'}, prefix='v{i}__',"
            f" columns={_cols(model)})"
        )
    label_ts = as_of.isoformat(sep=" ")
    labels = f"(select distinct user_id, timestamp '{label_ts}' as label_ts from main.stg_users)"
    inline = (
        f"{{{{ fstore.point_in_time_join(labels=\"{labels}\", entity_keys=['user_id'],"
        f" feature_views=[{', '.join(views)}]) }}}}"
    )
    # compile into its own target path: fsync reads run_results.json of the build, which compile would replace
    compiler = dataclasses.replace(demo.build.dbt, target_path=demo.target_path.parent / "target-compile")
    output = compiler.ok("compile", "--inline", inline, "--quiet").output
    sql = output[output.index("with _fstore_labels"):]
    sql = re.sub(r"\n\S*\d{2}:\d{2}:\d{2}.*$", "", sql, flags=re.S)  # drop any trailing log line
    con = duckdb.connect(str(demo.duckdb_path), read_only=True)
    try:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    finally:
        con.close()
    expected: dict[str, dict[tuple, tuple]] = {}
    for i, (store_id, model, _) in enumerate(DEMO_VIEWS):
        cols = [f"v{i}__feature_ts"] + [f"v{i}__{c}" for c in _cols(model)]
        idx = [names.index(c) for c in cols]
        expected[store_id] = {(row[names.index("user_id")],): tuple(row[j] for j in idx) for row in rows}
    return expected


@pytest.mark.parametrize("as_of", AS_OF, ids=["within-ttl", "after-ttl"])
def test_demo_views_online_equal_point_in_time_join(
    duckdb_demo: DemoBuild, store_kind: str, redis_url: str, tmp_path: Path, as_of: datetime
) -> None:
    demo = duckdb_demo
    env = {**demo.fsync_env(), **store_settings(store_kind, redis_url, tmp_path)}
    selection = [arg for _, model, _ in DEMO_VIEWS for arg in ("--select", model)]
    result = fsync(env, "push", "--as-of", as_of.isoformat(), *selection)
    assert result.exit_code == 0, result.output

    expected = _expected(demo, as_of)
    store = open_store_from_env(env)
    served = 0
    try:
        for store_id, model, _ in DEMO_VIEWS:
            cols = _cols(model)
            assert len(expected[store_id]) > 100
            for key, (feature_ts, *values) in expected[store_id].items():
                got = store.get(store_id, entity_key(key), as_of)
                if feature_ts is None:
                    assert got is None, f"{store_id} {key}: expected absent at {as_of}, store has {got}"
                    continue
                served += 1
                assert got is not None, f"{store_id} {key}: expected {values}, store has nothing"
                assert got.feature_ts == feature_ts
                assert [got.values[c] for c in cols] == values, (store_id, key)
                assert [type(got.values[c]) for c in cols] == [type(v) for v in values], (store_id, key)
    finally:
        store.close()
    assert (served > 0) == (as_of < datetime(2024, 12, 3)), served
