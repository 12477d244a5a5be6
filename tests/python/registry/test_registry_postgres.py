"""The registry commands on the demo built on PostgreSQL: check passes, training-set equals training_churn."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from fstore_testing.dbt import PgSettings
from fstore_testing.demo import DemoBuild
from test_registry_commands import PURCHASE, SESSION

pytestmark = pytest.mark.postgres


def test_check_passes_on_postgres(pg_demo: DemoBuild) -> None:
    result = pg_demo.fsync("check", "--json", "--today", "2026-01-01")
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report["errors"]
    assert report["checked"]["training_sets"] == 2


def test_training_set_equals_the_dbt_model_on_postgres(
    pg_demo: DemoBuild, pg_settings: PgSettings, tmp_path: Path
) -> None:
    spec = ",".join(
        [f"user_purchase_features@2:{c}" for c in PURCHASE] + [f"user_session_features:{c}" for c in SESSION]
    )
    out = tmp_path / "churn.parquet"
    result = pg_demo.fsync(
        "training-set",
        "--labels",
        "stg_churn_labels",
        "--features",
        spec,
        "--prefix",
        "user_purchase_features@2=purchase__",
        "--prefix",
        "user_session_features=session__",
        "--target",
        "postgres",
        "--profiles-dir",
        str(pg_demo.profiles_dir),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    conn = pg_settings.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(f'select * from "{pg_demo.schema}".training_churn')
            want_cols = [d.name for d in cur.description]
            want = cur.fetchall()
    finally:
        conn.close()
    cur2 = duckdb.connect().execute(f"select * from read_parquet('{out}')")
    assert [d[0] for d in cur2.description] == want_cols
    # The same rows; the model's table has no row order (point_in_time_join sorts only for fsync's readers).
    assert sorted(cur2.fetchall(), key=repr) == sorted(want, key=repr)


def test_training_set_from_a_label_file_on_postgres(pg_demo: DemoBuild, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "user_id,label_ts,label\n7,2024-06-01 12:00:00,1\n-1,2024-06-01 00:00:00,0\n7,2024-06-01 12:00:00,1\n"
    )
    out = tmp_path / "ts.csv"
    result = pg_demo.fsync(
        "training-set",
        "--labels",
        str(labels),
        "--features",
        "user_session_features:session_count_7d",
        "--target",
        "postgres",
        "--profiles-dir",
        str(pg_demo.profiles_dir),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    rows = duckdb.connect().execute(f"select * from read_csv_auto('{out}')").fetchall()
    assert [(r[0], str(r[1]), r[2]) for r in rows] == [
        (7, "2024-06-01 12:00:00", 1),
        (-1, "2024-06-01 00:00:00", 0),
        (7, "2024-06-01 12:00:00", 1),
    ]
    assert rows[1][3:] == (None, None)
    assert rows[0][3:] == rows[2][3:]
