"""What a push checks before it writes, and what it does with what it cannot serve: a schema change forces a
full push; a type the store cannot serve is refused before the first write (and by --dry-run); timestamptz is
served as its UTC instant; a Redis that may evict feature keys is refused; time edges are one-line errors.
Real DuckDB / PostgreSQL / private redis-servers; synthetic dbt artifacts."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest
from fstore_testing.artifacts import fv_meta, write_artifacts
from fstore_testing.cli import fsync
from fstore_testing.redis_server import free_port, start_redis
from fstore_testing.stores import open_store_from_env, project_env, store_settings

T = datetime(2024, 6, 1)
DSN = os.environ.get("FSYNC_TEST_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test")


def _db(tmp_path: Path, *statements: str) -> Path:
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    for sql in statements:
        con.execute(sql)
    con.close()
    return db


def _env(tmp_path: Path, db: Path, store_env: dict[str, str]) -> dict[str, str]:
    return project_env(tmp_path, db, store_env, batch_size=100)


def _view(name: str, columns: dict[str, str], **meta: object) -> dict[str, object]:
    return {"name": name, "meta": fv_meta(**{"ttl": "2d", **meta}), "columns": columns}


@contextlib.contextmanager
def _engine(tmp_path: Path, engine: str, schema: str, ddl: list[str]) -> Iterator[tuple[dict[str, str], Any]]:
    """The tables of `ddl` on DuckDB (schema main) or in a fresh PostgreSQL schema (dropped after), the
    FSYNC_* environment that pushes from them into a SQLite store, and a query function on the warehouse."""
    base = {
        "FSYNC_PROJECT_DIR": str(tmp_path),
        "FSYNC_TARGET_PATH": "target",
        **store_settings("sqlite", "", tmp_path),
    }
    if engine == "duckdb":
        db = _db(tmp_path, *ddl)

        def query(sql: str) -> list[tuple[Any, ...]]:
            con = duckdb.connect(str(db), read_only=True)
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()

        yield {**base, "FSYNC_DUCKDB_PATH": str(db)}, query
        return
    con = psycopg2.connect(DSN)
    con.autocommit = True

    def pg_query(sql: str) -> list[tuple[Any, ...]]:
        with con.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    try:
        with con.cursor() as cur:
            cur.execute(f"create schema {schema}")
            for sql in ddl:
                cur.execute(sql)
        yield {**base, "FSYNC_WAREHOUSE": "postgres", "FSYNC_POSTGRES_DSN": DSN}, pg_query
    finally:
        with con.cursor() as cur:
            cur.execute(f"drop schema if exists {schema} cascade")
        con.close()


def test_a_schema_change_forces_a_full_push(tmp_path: Path, store_kind: str, redis_url: str) -> None:
    rows = f"from range(2000) as r(user_id), (select timestamp '{T - timedelta(hours=30)}' as feature_ts)"
    db = _db(
        tmp_path, f"create table main.fv as select user_id, feature_ts, user_id / 2 as a, 'x' as b {rows}"
    )
    write_artifacts(
        tmp_path / "target",
        [_view("fv", {"user_id": "bigint", "feature_ts": "timestamp", "a": "double", "b": "varchar"})],
    )
    env = _env(tmp_path, db, store_settings(store_kind, redis_url, tmp_path))
    assert fsync(env, "push", "--as-of", T.isoformat()).exit_code == 0
    # The contract changes: b dropped, c added, a now text; only 10 entities get a row in the look-back.
    _db(
        tmp_path,
        "create or replace table main.fv as select user_id, feature_ts, cast(user_id as varchar) as a,"
        f" user_id as c {rows}",
        f"insert into main.fv select user_id, timestamp '{T + timedelta(minutes=30)}', 'new', -1"
        " from range(10) as r(user_id)",
    )
    write_artifacts(
        tmp_path / "target",
        [_view("fv", {"user_id": "bigint", "feature_ts": "timestamp", "a": "varchar", "c": "bigint"})],
    )
    res = fsync(env, "push", "--as-of", (T + timedelta(hours=1)).isoformat(), "--json")
    assert res.exit_code == 0, res.output
    result = json.loads(res.output)["views"][0]
    assert result["mode"] == "full" and result["rows"] == 2000
    assert result["reason"] == (
        "the view's schema changed since the last push: dropped b, added c, a is now string (was float)"
    )
    store = open_store_from_env(env)
    served = store.snapshot("fv:_", T + timedelta(hours=1))
    assert len(served) == 2000
    assert {frozenset(r.values) for r in served.values()} == {frozenset({"a", "c"})}  # one schema only
    assert served["5"].values == {"a": "new", "c": -1} and served["500"].values == {"a": "500", "c": 500}
    store.close()


def test_an_unservable_type_is_refused_before_the_first_write(tmp_path: Path) -> None:
    """A LIST column, NULL in the first 2,500 rows: once it failed after 2,000 of 3,000 entities were served,
    and --dry-run said "would write 3000"."""
    db = _db(
        tmp_path,
        f"create table main.fv as select range as user_id, timestamp '{T - timedelta(hours=1)}'"
        " as feature_ts, case when range >= 2500 then [range, 1] end as tags, 1.5::double as score"
        " from range(3000)",
        f"create table main.good as select 1 as user_id, timestamp '{T - timedelta(hours=1)}' as feature_ts,"
        " 2.5 as score",
    )
    write_artifacts(
        tmp_path / "target",
        [
            _view(
                "fv", {"user_id": "bigint", "feature_ts": "timestamp", "tags": "bigint[]", "score": "double"}
            ),
            _view("good", {"user_id": "integer", "feature_ts": "timestamp", "score": "decimal(2,1)"}),
        ],
    )
    env = _env(tmp_path, db, store_settings("sqlite", "", tmp_path))
    message = "view fv: column 'tags' is BIGINT[], a type the online store cannot serve"
    for dry in (["--dry-run"], []):
        res = fsync(env, "push", "--as-of", T.isoformat(), *dry)
        assert res.exit_code == 2, res.output
        assert message in res.output and "Traceback" not in res.output
    store = open_store_from_env(env)
    assert store.snapshot("fv:_", T) == {} and store.get_watermark("fv:_") is None
    assert store.get_watermark("good:_") is not None  # the healthy view is still pushed
    store.close()


def test_created_timestamp_must_be_a_timestamp(tmp_path: Path) -> None:
    db = _db(
        tmp_path,
        f"create table main.fv as select 1 as user_id, timestamp '{T}' as feature_ts, 'late' as created_ts,"
        " 1 as x",
    )
    cols = {"user_id": "integer", "feature_ts": "timestamp", "created_ts": "varchar", "x": "integer"}
    write_artifacts(tmp_path / "target", [_view("fv", cols, created_timestamp="created_ts")])
    env = _env(tmp_path, db, store_settings("sqlite", "", tmp_path))
    res = fsync(env, "push", "--as-of", T.isoformat())
    assert res.exit_code == 2
    assert (
        "view fv: meta.feature_view.created_timestamp 'created_ts' is VARCHAR, not a timestamp" in res.output
    )
    assert open_store_from_env(env).get_watermark("fv:_") is None


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_timestamptz_is_served_as_its_utc_instant(tmp_path: Path, engine: str) -> None:
    schema = f"fsync_tz_{uuid.uuid4().hex[:8]}" if engine == "postgres" else "main"
    ddl = [
        f"create table {schema}.a_tz (user_id bigint, feature_ts timestamptz, created_ts timestamptz,"
        " seen_at timestamptz, n integer)",
        f"insert into {schema}.a_tz values (1, '2024-05-31 23:30:00+02', '2024-05-31 23:45:00+02',"
        " '2024-01-01 12:00:00-05', 1), (1, '2024-05-31 23:30:00+02', null, null, 2),"
        " (2, '2024-05-31 10:00:00+00', null, '2024-02-01 00:00:00+00', 3)",
        f"create table {schema}.b_plain (user_id bigint, feature_ts timestamp, n integer)",
        f"insert into {schema}.b_plain values (1, '2024-05-31 12:00:00', 7)",
    ]
    with _engine(tmp_path, engine, schema, ddl) as (env, _):
        tz = {
            "user_id": "bigint",
            "feature_ts": "timestamptz",
            "created_ts": "timestamptz",
            "seen_at": "timestamptz",
            "n": "integer",
        }
        write_artifacts(
            tmp_path / "target",
            [
                {
                    "name": "a_tz",
                    "schema": schema,
                    "meta": fv_meta(ttl="2d", created_timestamp="created_ts"),
                    "columns": tz,
                },
                {
                    "name": "b_plain",
                    "schema": schema,
                    "meta": fv_meta(ttl="2d"),
                    "columns": {"user_id": "bigint", "feature_ts": "timestamp", "n": "integer"},
                },
            ],
        )
        res = fsync(env, "push", "--as-of", T.isoformat(), "--json")
        assert res.exit_code == 0, res.output
        assert [v["status"] for v in json.loads(res.output)["views"]] == ["pushed", "pushed"]
        store = open_store_from_env(env)
        one = store.get("a_tz:_", "1", T)
        assert one is not None and one.feature_ts == datetime(2024, 5, 31, 21, 30)
        assert one.values == {"seen_at": datetime(2024, 1, 1, 17, 0), "n": 1}  # created_ts breaks the tie
        two = store.get("a_tz:_", "2", T)
        assert two is not None and two.values == {"seen_at": datetime(2024, 2, 1), "n": 3}
        assert store.get("b_plain:_", "1", T) is not None
        store.close()
        # The catalog profiles a timestamptz view too (its latest feature_ts, as UTC).
        site = tmp_path / "site"
        res = fsync(env, "catalog", "--out", str(site), "--as-of", T.isoformat())
        assert res.exit_code == 0 and "Traceback" not in res.output, res.output
        assert "2024-05-31 21:30" in (site / "views" / "a_tz.html").read_text()


def test_time_edges_are_one_line_errors(tmp_path: Path) -> None:
    db = _db(
        tmp_path,
        f"create table main.fv as select 1 as user_id, timestamp '{T}' as feature_ts, 1 as x",
        f"create table main.big as select 1 as user_id, timestamp '{T}' as feature_ts, 1 as x",
    )
    cols = {"user_id": "integer", "feature_ts": "timestamp", "x": "integer"}
    write_artifacts(
        tmp_path / "target", [_view("fv", cols), {**_view("big", cols), "meta": fv_meta(ttl="9999999999d")}]
    )
    env = _env(tmp_path, db, store_settings("sqlite", "", tmp_path))
    future = (datetime.now() + timedelta(days=2)).isoformat()
    res = fsync(env, "push", "--as-of", future)
    assert (
        res.exit_code == 2 and "is later than the wall clock" in res.output and "--allow-future" in res.output
    )
    assert open_store_from_env(env).get_watermark("fv:_") is None
    res = fsync(env, "push", "--as-of", future, "--allow-future")
    assert res.exit_code == 0, res.output
    for bad in ("", "  ", "yesterday", "2024-13-01"):
        res = fsync(env, "push", "--as-of", bad)
        assert res.exit_code == 2 and "is not an ISO timestamp" in res.output, (bad, res.output)
    for edge in ("0001-01-01", "0001-01-01T00:00:00+00:00"):
        res = fsync(env, "push", "--as-of", edge, "--json")
        assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    res = fsync(env, "push", "--as-of", T.isoformat(), "--select", "big", "--full-refresh")
    assert res.exit_code == 0, res.output
    store = open_store_from_env(env)
    record = store.get("big:_", "1", T)
    assert record is not None and store.get("big:_", "1", datetime(9999, 12, 31)) is not None
    store.close()


def test_redis_that_may_evict_feature_keys(tmp_path: Path) -> None:
    db = _db(
        tmp_path,
        "create table main.fv as select range as user_id, now()::timestamp - interval 1 hour as feature_ts,"
        " repeat('x', 200) as payload from range(40000)",
    )
    write_artifacts(
        tmp_path / "target",
        [_view("fv", {"user_id": "bigint", "feature_ts": "timestamp", "payload": "varchar"})],
    )
    port = free_port()
    server = start_redis(tmp_path, port)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        client.config_set("maxmemory", "4mb")
        client.config_set("maxmemory-policy", "volatile-lru")
        env = _env(tmp_path, db, {"FSYNC_STORE": "redis", "FSYNC_REDIS_URL": url, "FSYNC_KEY_PREFIX": "ev"})
        res = fsync(env, "push", "--json")
        assert res.exit_code == 2
        error = json.loads(res.output)["error"]
        assert "maxmemory-policy volatile-lru" in error["message"] and "--allow-eviction" in error["message"]
        assert client.dbsize() == 0
        # Opted in: the push runs, and says how many keys Redis evicted instead of claiming them written.
        res = fsync(env, "push", "--json", "--allow-eviction")
        summary = json.loads(res.output)
        assert res.exit_code == 0 and summary["warnings"], res.output
        view = summary["views"][0]
        assert view["evicted_keys"] > 1000 and "evicted" in view["message"]
        # noeviction: a full Redis refuses the writes, exit 3, one line, watermark not advanced.
        client.flushall()
        client.config_set("maxmemory-policy", "noeviction")
        res = fsync(env, "push")
        assert res.exit_code == 3 and "is out of memory" in res.output and "Traceback" not in res.output
        assert len(res.output.strip().splitlines()) == 1
        assert client.hget("ev:__watermarks", "fv:_") is None
    finally:
        server.kill()
        server.wait()


def test_deleted_entities_stay_until_a_full_push_or_the_periodic_reconciliation(
    tmp_path: Path, store_kind: str, redis_url: str
) -> None:
    rows = "select range as user_id, timestamp '2024-05-31 12:00' as feature_ts, range as x from range(100)"
    db = _db(tmp_path, f"create table main.fv as {rows}")
    write_artifacts(
        tmp_path / "target",
        [_view("fv", {"user_id": "bigint", "feature_ts": "timestamp", "x": "bigint"}, ttl="30d")],
    )
    env = {
        **_env(tmp_path, db, store_settings(store_kind, redis_url, tmp_path)),
        "FSYNC_FULL_REFRESH_EVERY": "1d",
    }
    assert fsync(env, "push", "--as-of", T.isoformat()).exit_code == 0
    _db(tmp_path, "delete from main.fv where user_id < 10")
    store = open_store_from_env(env)
    # Incremental: rows deleted from the warehouse are still served (documented).
    res = fsync(env, "push", "--as-of", (T + timedelta(hours=6)).isoformat(), "--json")
    assert json.loads(res.output)["views"][0]["mode"] == "incremental"
    assert len(store.snapshot("fv:_", T + timedelta(hours=6))) == 100
    # A day after the last full push, the push is full and the deleted entities go.
    res = fsync(env, "push", "--as-of", (T + timedelta(days=1)).isoformat(), "--json")
    view = json.loads(res.output)["views"][0]
    assert (
        view["mode"] == "full"
        and view["reason"].startswith("periodic full refresh")
        and view["deleted"] == 10
    )
    assert set(store.snapshot("fv:_", T + timedelta(days=1))) == {str(i) for i in range(10, 100)}
    res = fsync(env, "push", "--as-of", (T + timedelta(days=1, hours=1)).isoformat(), "--json")
    assert json.loads(res.output)["views"][0]["mode"] == "incremental"
    store.close()


EDGE_ROWS = [
    (1, "inf", "-1", "0.0000", True, ""),
    (2, "-inf", "9223372036854775807", "-12345.6780", False, "n"),
    (3, "-0.0", "-9223372036854775808", "99999999999999.9999", None, "s|x\\\\y"),
    (4, "5e-324", None, None, True, None),
    (5, "1e308", "0", "0.0001", False, "ünï"),
    (6, "0.30000000000000004", "42", "1.5000", True, "'quoted'"),
    (7, None, "7", "7.0000", None, "x"),
]


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_values_encoded_by_the_warehouse_read_back_exactly(tmp_path: Path, engine: str) -> None:
    """int/float/decimal/bool/text features are encoded in SQL while the rows are read: every value reads
    back equal, of the same type, as the warehouse holds it (NaN aside, which equals nothing)."""
    schema = f"fsync_enc_{uuid.uuid4().hex[:8]}" if engine == "postgres" else "main"
    float_type = "double precision"
    ddl = [
        f"create table {schema}.enc (user_id bigint, feature_ts timestamp, f {float_type}, i bigint,"
        " d numeric(18,4), b boolean, s varchar)",
    ]
    values = ", ".join(
        f"({k}, '2024-05-31 12:00', {'null' if f is None else repr(f) + '::' + float_type},"
        f" {'null' if i is None else i}, {'null' if d is None else d}, {'null' if b is None else b},"
        f" {'null' if t is None else chr(39) + t.replace(chr(39), chr(39) * 2) + chr(39)})"
        for k, f, i, d, b, t in EDGE_ROWS
    )
    ddl.append(f"insert into {schema}.enc values {values}")
    with _engine(tmp_path, engine, schema, ddl) as (env, query):
        expected = query(f"select user_id, f, i, d, b, s from {schema}.enc order by 1")
        cols = {
            "user_id": "bigint",
            "feature_ts": "timestamp",
            "f": "double",
            "i": "bigint",
            "d": "decimal(18,4)",
            "b": "boolean",
            "s": "varchar",
        }
        write_artifacts(
            tmp_path / "target",
            [{"name": "enc", "schema": schema, "meta": fv_meta(ttl="2d"), "columns": cols}],
        )
        res = fsync(env, "push", "--as-of", T.isoformat())
        assert res.exit_code == 0, res.output
        store = open_store_from_env(env)
        for row in expected:
            got = store.get("enc:_", str(row[0]), T)
            assert got is not None
            want = dict(zip("fidbs", row[1:], strict=True))
            assert got.values == want, (row, got.values)
            assert [type(got.values[c]) for c in "fidbs"] == [type(v) for v in want.values()], row
            assert str(got.values["f"]) == str(want["f"]) and str(got.values["d"]) == str(want["d"]), row
        store.close()
