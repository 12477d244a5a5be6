"""Bad input: a clear error naming view, column and an example key, exit 2, nothing of that view written.
Artifacts are synthetic (conftest.write_artifacts); the warehouse is a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from fstore_testing.artifacts import fv_meta, write_artifacts
from fstore_testing.cli import fsync
from fstore_testing.stores import open_store_from_env, store_settings

AS_OF = "2024-06-01T00:00:00"
META = fv_meta(ttl="1d")
COLS = {"user_id": "bigint", "feature_ts": "timestamp", "score": "double"}


def _setup(
    tmp_path: Path,
    rows: list[tuple],
    meta: dict | None = None,
    columns: dict | None = None,
    statuses: dict | None = None,
    ddl: str = "user_id bigint, feature_ts timestamp, score double",
) -> dict:
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute(f"create or replace table main.fv ({ddl})")
    if rows:
        con.executemany(f"insert into main.fv values ({', '.join('?' * len(rows[0]))})", rows)
    con.execute("create or replace table main.good (user_id bigint, feature_ts timestamp, score double)")
    con.execute("insert into main.good values (1, '2024-05-31 12:00', 0.5)")
    con.close()
    write_artifacts(
        tmp_path / "target",
        [
            {
                "name": "fv",
                "meta": META if meta is None else meta,
                "columns": COLS if columns is None else columns,
            },
            {"name": "good", "meta": META, "columns": COLS},
        ],
        statuses,
    )
    return {
        "FSYNC_PROJECT_DIR": str(tmp_path),
        "FSYNC_DUCKDB_PATH": str(db),
        "FSYNC_TARGET_PATH": "target",
        **store_settings("sqlite", "", tmp_path),
    }


def _assert_nothing_written(env: dict) -> None:
    store = open_store_from_env(env)
    assert store.snapshot("fv:_", __import__("datetime").datetime(2024, 6, 1)) == {}
    assert store.get_watermark("fv:_") is None
    assert store.get_watermark("good:_") is not None  # the other view is still published
    store.close()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [(1, "2024-05-31 10:00", 1.0), (None, "2024-05-31 11:00", 2.0)],
            "view fv: NULL entity key in column(s) user_id; example row: user_id=None, feature_ts=datetime",
        ),
        (
            [(1, "2024-05-31 10:00", 1.0), (2, "2024-05-31 10:00", 1.0), (2, "2024-05-31 10:00", 3.0)],
            "view fv: duplicate rows for the same (user_id, feature_ts); the latest row is ambiguous"
            " for example at "
            "user_id=2, feature_ts=datetime.datetime(2024, 5, 31, 10, 0)",
        ),
    ],
)
def test_bad_rows(tmp_path: Path, rows: list[tuple], message: str) -> None:
    env = _setup(tmp_path, rows)
    res = fsync(env, "push", "--as-of", AS_OF)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output
    _assert_nothing_written(env)


def test_type_contradicting_contract(tmp_path: Path) -> None:
    env = _setup(
        tmp_path, [(1, "2024-05-31 10:00", "high")], ddl="user_id bigint, feature_ts timestamp, score varchar"
    )
    res = fsync(env, "push", "--as-of", AS_OF)
    assert res.exit_code == 2
    assert (
        "view fv: column 'score' is VARCHAR in the warehouse but the enforced contract declares double"
        in res.output
    )
    _assert_nothing_written(env)


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (fv_meta(entity_keys=None), "fv: meta.feature_view.entity_keys: required key is missing"),
        (fv_meta(ttl=None), "fv: meta.feature_view.ttl: required key is missing; fix: add `ttl: 2d`"),
        (fv_meta(tll="1d", ttl=None), "fv: meta.feature_view.tll: unknown key; fix: did you mean `ttl`?"),
        (fv_meta(ttl="1 month"), 'fv: meta.feature_view.ttl: is "1 month", not a duration'),
        (fv_meta(ttl="01d"), 'fv: meta.feature_view.ttl: is "01d", not a duration'),
        (
            fv_meta(entity_keys=["customer_id"]),
            'fv: meta.feature_view.entity_keys: names "customer_id", which is not a contract column',
        ),
    ],
)
def test_bad_meta(tmp_path: Path, meta: dict, message: str) -> None:
    env = _setup(tmp_path, [(1, "2024-05-31 10:00", 1.0)], meta=meta)
    res = fsync(env, "push", "--as-of", AS_OF)
    assert res.exit_code == 2
    assert message in res.output
    _assert_nothing_written(env)


def test_selection_matching_nothing(tmp_path: Path) -> None:
    env = _setup(tmp_path, [(1, "2024-05-31 10:00", 1.0)])
    res = fsync(env, "push", "--select", "nope", "--as-of", AS_OF)
    assert res.exit_code == 2
    assert "no feature view named 'nope'. Known feature views: fv, good." in res.output


@pytest.mark.parametrize(
    ("status", "message"),
    [("error", "its latest build has status 'error'"), ("skipped", "its latest build has status 'skipped'")],
)
def test_refuses_failed_build(tmp_path: Path, status: str, message: str) -> None:
    env = _setup(tmp_path, [(1, "2024-05-31 10:00", 1.0)], statuses={"fv": status})
    res = fsync(env, "push", "--as-of", AS_OF)
    assert res.exit_code == 1
    assert f"refusing to publish fv: {message}" in res.output
    _assert_nothing_written(env)


def test_refuses_view_that_never_ran(tmp_path: Path) -> None:
    env = _setup(tmp_path, [(1, "2024-05-31 10:00", 1.0)])
    (tmp_path / "target" / "run_results.json").write_text(
        '{"metadata": {"dbt_schema_version":'
        ' "https://schemas.getdbt.com/dbt/run-results/v6.json"}, "args": {"which": "build"}, "results": []}'
    )
    res = fsync(env, "push", "--select", "fv", "--as-of", AS_OF)
    assert res.exit_code == 1 and "never ran" in res.output


def test_unsupported_artifact_version(tmp_path: Path) -> None:
    env = _setup(tmp_path, [(1, "2024-05-31 10:00", 1.0)])
    write_artifacts(tmp_path / "target", [{"name": "fv", "meta": META, "columns": COLS}], manifest_version=7)
    res = fsync(env, "push", "--as-of", AS_OF)
    assert res.exit_code == 2 and "has manifest schema v7; fsync supports v10, v11, v12" in res.output


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    env = _setup(tmp_path, [(1, "2024-05-31 10:00", 1.0), (2, "2024-05-20 10:00", 1.0)])
    res = fsync(env, "push", "--dry-run", "--select", "fv", "--as-of", AS_OF, "--json")
    assert res.exit_code == 0 and '"rows": 1' in res.output and '"status": "dry-run"' in res.output
    store = open_store_from_env(env)
    assert store.get_watermark("fv:_") is None


def test_duckdb_locked_by_a_writer_exit_3(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    env = _setup(tmp_path, [(1, "2024-05-31 10:00", 1.0)])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({env['FSYNC_DUCKDB_PATH']!r});"
            " print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"ready"
        time.sleep(0.1)
        res = fsync(env, "push", "--as-of", AS_OF)
        assert res.exit_code == 3
        assert "is locked by another process (is `dbt` running?)" in res.output
    finally:
        holder.kill()
        holder.wait()
