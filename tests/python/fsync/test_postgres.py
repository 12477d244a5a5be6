"""The PostgreSQL reader pushes exactly what the DuckDB reader pushes, from the same rows."""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from pathlib import Path

import duckdb
import psycopg2
import pytest
from fstore_testing.artifacts import fv_meta, write_artifacts
from fstore_testing.cli import fsync
from fstore_testing.fixture_project import random_dataset
from fstore_testing.stores import open_store_from_env, store_settings

pytestmark = pytest.mark.postgres
T = datetime(2024, 6, 1, 6, 30)
DSN = os.environ.get("FSYNC_TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")
COLUMNS = {
    "user_id": "bigint",
    "feature_ts": "timestamp",
    "created_ts": "timestamp",
    "f_int": "bigint",
    "f_float": "double",
    "f_dec": "decimal(18,4)",
    "f_bool": "boolean",
    "f_str": "varchar",
    "f_ts": "timestamp",
}
PG_DDL = (
    "user_id bigint, feature_ts timestamp, created_ts timestamp, f_int bigint, f_float double precision,"
    " f_dec numeric(18,4), f_bool boolean, f_str text, f_ts timestamp"
)


def test_postgres_and_duckdb_push_the_same(tmp_path: Path) -> None:
    rows = random_dataset(seed=5, as_of=T, n_users=300).user_rows_v2
    schema = f"fsync_test_{uuid.uuid4().hex[:8]}"
    con = psycopg2.connect(DSN)
    con.autocommit = True
    duck = duckdb.connect(str(tmp_path / "wh.duckdb"))
    try:
        with con.cursor() as cur:
            cur.execute(f"create schema {schema}")
            cur.execute(f"create table {schema}.fv ({PG_DDL})")
            cur.executemany(f"insert into {schema}.fv values ({', '.join(['%s'] * 9)})", rows)
        duck.execute(f"create schema {schema}")
        duck.execute(f"create table {schema}.fv ({PG_DDL.replace('double precision', 'double')})")
        duck.executemany(f"insert into {schema}.fv values ({', '.join('?' * 9)})", rows)
        duck.close()
        meta = fv_meta(created_timestamp="created_ts", ttl="36h")
        write_artifacts(
            tmp_path / "target", [{"name": "fv", "schema": schema, "meta": meta, "columns": COLUMNS}]
        )
        base = {"FSYNC_PROJECT_DIR": str(tmp_path), "FSYNC_TARGET_PATH": "target"}
        pg_env = {
            **base,
            **store_settings("sqlite", "", tmp_path, "pg"),
            "FSYNC_WAREHOUSE": "postgres",
            "FSYNC_POSTGRES_DSN": DSN,
            "FSYNC_BATCH_SIZE": "13",
        }
        dk_env = {
            **base,
            **store_settings("sqlite", "", tmp_path, "dk"),
            "FSYNC_DUCKDB_PATH": str(tmp_path / "wh.duckdb"),
        }
        for env in (pg_env, dk_env):
            res = fsync(env, "push", "--as-of", T.isoformat())
            assert res.exit_code == 0, res.output
        pg, dk = (
            open_store_from_env(pg_env).snapshot("fv:_", T),
            open_store_from_env(dk_env).snapshot("fv:_", T),
        )
        assert len(dk) > 100
        assert pg == dk
    finally:
        with con.cursor() as cur:
            cur.execute(f"drop schema if exists {schema} cascade")
        con.close()


def test_postgres_unreachable_exit_3(tmp_path: Path) -> None:
    write_artifacts(tmp_path / "target", [{"name": "fv", "meta": fv_meta(entity_keys=["k"])}])
    env = {
        "FSYNC_PROJECT_DIR": str(tmp_path),
        "FSYNC_TARGET_PATH": "target",
        "FSYNC_WAREHOUSE": "postgres",
        "FSYNC_POSTGRES_DSN": "host=127.0.0.1 port=1 user=postgres password=pw-s3cret dbname=test",
        **store_settings("sqlite", "", tmp_path),
    }
    res = fsync(env, "push")
    assert res.exit_code == 3 and "PostgreSQL is unavailable" in res.output and "pw-s3cret" not in res.output
