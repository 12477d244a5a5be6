"""`fsync impact`, `fsync features` and `fsync training-set` on the demo build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fstore_testing.demo import DemoBuild

PURCHASE = [
    "purchase_count_30d",
    "amount_sum_30d",
    "amount_avg_14d",
    "amount_max_30d",
    "order_count_30d",
    "failed_payment_count_30d",
]
SESSION = [
    "session_count_7d",
    "session_count_28d",
    "session_seconds_sum_7d",
    "session_seconds_avg_7d",
    "session_seconds_max_7d",
]


@pytest.mark.parametrize(
    ("target", "models", "training_sets", "exposures"),
    [
        ("user_purchase_features@2", [], ["training_churn"], ["churn_model"]),
        ("user_purchase_features@1", [], ["training_fraud"], ["fraud_model"]),
        ("user_purchase_features.v1", [], ["training_fraud"], ["fraud_model"]),
        ("user_session_features", [], ["training_churn", "training_fraud"], ["churn_model", "fraud_model"]),
        (
            "user_purchase_features",
            [],
            ["training_churn", "training_fraud"],
            ["churn_model", "fraud_model"],
        ),
        ("user_purchase_features@2:purchase_count_30d", [], ["training_churn"], ["churn_model"]),
        ("user_purchase_features_v2:amount_avg_14d", [], ["training_churn"], ["churn_model"]),
        (
            "user_session_features:session_count_28d",
            [],
            ["training_churn", "training_fraud"],
            ["churn_model", "fraud_model"],
        ),
        (
            "stg_users",
            [
                "legacy_purchase_count_pacific",  # the demo's legacy tables (fsync audit) use its users too
                "legacy_purchase_count_utc",
                "user_purchase_features@1",
                "user_purchase_features@2",
                "user_session_features",
            ],
            ["training_churn", "training_fraud"],
            ["churn_model", "fraud_model"],
        ),
    ],
)
def test_impact_lists_exactly_the_consumers(
    duckdb_demo: DemoBuild, target: str, models: list[str], training_sets: list[str], exposures: list[str]
) -> None:
    result = duckdb_demo.fsync("impact", target, "--json")
    assert result.exit_code == 0, result.output
    impact = json.loads(result.stdout)
    assert sorted(impact["models"]) == sorted(models)
    assert impact["training_sets"] == training_sets
    assert impact["exposures"] == exposures


def test_impact_feature_column_without_a_training_set_keeps_direct_exposures(duckdb_demo: DemoBuild) -> None:
    # no training set selects a feature that does not exist: it is refused with the view's columns
    bad = duckdb_demo.fsync("impact", "user_session_features:purchase_count_30d")
    assert bad.exit_code == 2
    assert "'purchase_count_30d' is not one of its features of user_session_features" in bad.stderr
    missing = duckdb_demo.fsync("impact", "user_purchase_features@3")
    assert missing.exit_code == 2
    assert (
        "user_purchase_features has no version 3; its versions: user_purchase_features@1,"
        " user_purchase_features@2"
    ) in missing.stderr
    dotted = duckdb_demo.fsync("impact", "user_purchase_features.amount_sum_30d@2")
    assert dotted.exit_code == 2 and "e.g. user_purchase_features@2:amount_sum_30d" in dotted.stderr
    typo = duckdb_demo.fsync("impact", "user_purchse_features@2")
    assert typo.exit_code == 2 and "Did you mean 'user_purchase_features'" in typo.stderr


def test_features_list_show_search(duckdb_demo: DemoBuild) -> None:
    listed = json.loads(duckdb_demo.fsync("features", "list", "--json").stdout)
    assert [v["view"] for v in listed] == [
        "user_purchase_features@1",
        "user_purchase_features@2",
        "user_session_features",
    ]
    assert listed[0]["deprecation_date"] == "2027-06-30" and not listed[0]["latest"]
    assert listed[1]["features"] == PURCHASE

    shown = json.loads(duckdb_demo.fsync("features", "show", "user_purchase_features@2", "--json").stdout)
    assert len(shown) == 1
    v2 = shown[0]
    assert v2["sql_path"] == "models/features/user_purchase_features_v2.sql"
    assert v2["ttl"] == "2d" and v2["freshness_sla"] == "26h" and v2["owner"] == "growth-ml@example.com"
    assert {
        "name": "amount_sum_30d",
        "data_type": "numeric(38,2)",
        "description": "Sum of line amounts in the last 30 days (failed payments have no amount);"
        " 0 when none.",
    } in v2["columns"]
    assert v2["upstream_sources"] == ["raw_purchases", "raw_sessions"]
    assert v2["training_sets"] == ["training_churn"]
    assert [e["name"] for e in v2["exposures"]] == ["churn_model"]
    assert [v["view"] for v in v2["versions"]] == ["user_purchase_features@1", "user_purchase_features@2"]
    assert "rolling" in v2["sql_snippet"] or "_fstore" in v2["sql_snippet"]

    text = duckdb_demo.fsync("features", "show", "user_session_features")
    assert text.exit_code == 0
    assert "exposures: churn_model (growth-ml@example.com), fraud_model (risk-ml@example.com)" in text.stdout

    def hits(q: str) -> list[tuple[str, Any]]:
        return [
            (h["view"], h["feature"])
            for h in json.loads(duckdb_demo.fsync("features", "search", q, "--json").stdout)
        ]

    assert hits("purchase_count_30d") == [
        ("user_purchase_features@1", "purchase_count_30d"),
        ("user_purchase_features@2", "purchase_count_30d"),
    ]
    assert hits("sessions") == [
        ("user_session_features", None),
        ("user_session_features", "session_count_7d"),
        ("user_session_features", "session_count_28d"),
    ]
    assert ("user_session_features", None) in hits("GROWTH-ML")  # owner, case-insensitive
    assert ("user_purchase_features@1", None) in hits("user_id")  # entity
    assert duckdb_demo.fsync("features", "search", "no-such-thing").exit_code == 1


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    cur = con.execute(sql)
    return [d[0] for d in cur.description], cur.fetchall()


def _churn_features(profiles_dir: Path) -> list[str]:
    """The features and prefixes of the dbt model training_churn."""
    spec = ",".join(
        [f"user_purchase_features@2:{c}" for c in PURCHASE] + [f"user_session_features:{c}" for c in SESSION]
    )
    return [
        "--features",
        spec,
        "--prefix",
        "user_purchase_features@2=purchase__",
        "--prefix",
        "user_session_features=session__",
    ]


def test_training_set_equals_the_dbt_model_row_for_row(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    out = tmp_path / "churn.parquet"
    result = duckdb_demo.fsync(
        "training-set",
        "--labels",
        "stg_churn_labels",
        *_churn_features(duckdb_demo.profiles_dir),
        "--out",
        str(out),
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    con = duckdb.connect(str(duckdb_demo.duckdb_path), read_only=True)
    try:
        want_cols, want = _rows(con, "select * from main.training_churn")
        got_cols, got = _rows(con, f"select * from read_parquet('{out}')")
        label_cols, labels = _rows(con, "select * from main.stg_churn_labels")
    finally:
        con.close()
    assert summary["rows"] == len(want) > 0
    assert got_cols == want_cols
    # The same rows as the model's table (which has no row order), in the labels' order.
    assert sorted(got, key=repr) == sorted(want, key=repr)
    assert got_cols[: len(label_cols)] == label_cols
    assert [r[: len(label_cols)] for r in got] == labels


def test_training_set_from_a_label_file_keeps_every_row_in_order(
    duckdb_demo: DemoBuild, tmp_path: Path
) -> None:
    labels = tmp_path / "labels.csv"
    con = duckdb.connect(str(duckdb_demo.duckdb_path), read_only=True)
    try:
        # reversed order plus a duplicate row and a user with no features: all must come back, in file order
        con.execute(
            "copy (select * from (select * from main.stg_churn_labels"
            " order by label_ts desc, user_id limit 40)"
            " union all (select * from main.stg_churn_labels order by label_ts desc, user_id limit 1)"
            " union all select -1, timestamp '2024-03-01 12:00:00', 0)"
            f" to '{labels}' (format csv, header true)"
        )
        label_rows = con.execute(f"select * from read_csv_auto('{labels}')").fetchall()
    finally:
        con.close()
    out = tmp_path / "ts.csv"
    result = duckdb_demo.fsync(
        "training-set",
        "--labels",
        str(labels),
        "--features",
        "user_purchase_features@2:purchase_count_30d,user_session_features:session_count_7d",
        "--profiles-dir",
        str(duckdb_demo.profiles_dir),
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    try:
        cols, rows = _rows(con, f"select * from read_csv_auto('{out}')")
    finally:
        con.close()
    assert cols == [
        "user_id",
        "label_ts",
        "label",
        "user_purchase_features__feature_ts",
        "user_purchase_features__purchase_count_30d",
        "user_session_features__feature_ts",
        "user_session_features__session_count_7d",
    ]
    assert [r[:3] for r in rows] == label_rows
    assert rows[-1][3:] == (None, None, None, None)
    assert all(r[3] is None or r[3] <= r[1] for r in rows)


def test_training_set_bad_feature_names_are_refused(duckdb_demo: DemoBuild) -> None:
    bad = duckdb_demo.fsync(
        "training-set", "--labels", "stg_churn_labels", "--features", "user_purchase_features@2:nope"
    )
    assert bad.exit_code == 2
    assert "'nope' is not one of its features of user_purchase_features@2" in bad.stderr
    key = duckdb_demo.fsync(
        "training-set", "--labels", "stg_churn_labels", "--features", "user_session_features:user_id"
    )
    assert key.exit_code == 2 and "'user_id' is a key/timestamp column, not a feature" in key.stderr


def test_training_set_prefix_cannot_inject_sql(duckdb_demo: DemoBuild) -> None:
    """A crafted --prefix once added a column listing every table; it is validated like any identifier,
    by fsync before compiling and by fstore.point_in_time_join itself."""
    crafted = (
        "user_session_features=x, (select string_agg(table_name, ',') from information_schema.tables) as y, "
    )
    res = duckdb_demo.fsync(
        "training-set",
        "--labels",
        "stg_churn_labels",
        "--features",
        "user_session_features:session_count_7d",
        "--prefix",
        crafted,
        "--print-sql",
        "--json",
    )
    assert res.exit_code == 2, res.output
    assert "a prefix starts the names of SQL columns" in json.loads(res.stdout)["error"]["message"]
    compiled = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "compile",
            "--quiet",
            "--project-dir",
            str(duckdb_demo.project_dir),
            "--profiles-dir",
            str(duckdb_demo.profiles_dir),
            "--target-path",
            str(duckdb_demo.target_path.parent / "inj"),
            "--inline",
            "{{ fstore.point_in_time_join(labels=ref('stg_churn_labels'), entity_keys=['user_id'],"
            " feature_views=[fstore.feature_view('user_session_features', prefix=\"x, 1 as y, \","
            " columns=['session_count_7d'])]) }}",
        ],
        env={k: v for k, v in {**os.environ, **duckdb_demo.fsync_env()}.items() if v is not None},
        capture_output=True,
        text=True,
        cwd=duckdb_demo.project_dir,
    )
    assert (
        compiled.returncode != 0
        and "not the start of a plain column name" in compiled.stdout + compiled.stderr
    )
