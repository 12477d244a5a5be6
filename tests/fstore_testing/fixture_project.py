"""The fsync fixture project (tests/python/fsync/fixture_project): feature views over raw tables the tests
fill with random data, built by the real dbt into a private DuckDB file, and the comparison of the online
store with the point-in-time join at label_ts = as_of that the project computes."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from fstore_testing.dbt import ROOT
from fsync.online.encoding import entity_key
from fsync.online.stores.base import OnlineStore

FIXTURE_PROJECT = ROOT / "tests" / "python" / "fsync" / "fixture_project"
DBT = str(Path(sys.executable).parent / "dbt")


class DbtFixture:
    """The fixture dbt project, built into a private DuckDB file."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.duckdb_path = workdir / "warehouse.duckdb"
        self.target = workdir / "target"
        self.env = {
            **os.environ,
            "DBT_PROFILES_DIR": str(FIXTURE_PROJECT),
            "FSYNC_FIXTURE_DUCKDB": str(self.duckdb_path),
            "FSYNC_FIXTURE_PACKAGES": str(workdir / "dbt_packages"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }

    def dbt(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DBT, *args, "--log-path", str(self.workdir / "logs")],
            cwd=FIXTURE_PROJECT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def build(self, as_of: str) -> None:
        res = self.dbt("build", "--target-path", str(self.target), "--vars", json.dumps({"as_of": as_of}))
        # guarded_stats' test fails on purpose; everything else must pass.
        if res.returncode not in (0, 1) or "ERROR=1 " not in res.stdout:
            raise AssertionError(
                f"dbt build failed unexpectedly:\n{res.stdout[-4000:]}\n{res.stderr[-2000:]}"
            )

    def fsync_env(self) -> dict[str, str]:
        return {
            "FSYNC_PROJECT_DIR": str(FIXTURE_PROJECT),
            "FSYNC_TARGET_PATH": str(self.target),
            "FSYNC_DUCKDB_PATH": str(self.duckdb_path),
        }


USER_COLS = ["user_id", "feature_ts", "created_ts", "f_int", "f_float", "f_dec", "f_bool", "f_str", "f_ts"]
STORE_COLS = ["store_id", "country", "feature_ts", "created_ts", "revenue", "orders"]

# (store id, relation with the point-in-time join at label_ts = as_of, key columns, feature columns)
VIEWS = [
    (
        "user_stats:v1",
        "expected_user_stats_v1",
        ["user_id"],
        ["f_int", "f_float", "f_dec", "f_bool", "f_str", "f_ts"],
    ),
    ("user_stats:v2", "expected_user_stats_v2", ["user_id"], ["f_int", "f_float", "f_dec", "f_str", "f_ts"]),
    ("store_stats:_", "expected_store_stats", ["store_id", "country"], ["revenue", "orders"]),
]


def _maybe(rng: random.Random, value: Any, p_null: float = 0.15) -> Any:
    return None if rng.random() < p_null else value


def _values(rng: random.Random) -> list[Any]:
    return [
        _maybe(rng, rng.randint(-(2**62), 2**62)),
        _maybe(rng, rng.uniform(-1e6, 1e6) * rng.choice([1, 1e-9, 1e9])),
        _maybe(rng, Decimal(rng.randint(-(10**12), 10**12)) / Decimal(10000)),
        _maybe(rng, rng.random() < 0.5),
        _maybe(rng, rng.choice(["", "a", "ü|x", "back\\slash", "n", "s 1"]) + str(rng.randint(0, 99))),
        _maybe(rng, datetime(2020, 1, 1) + timedelta(microseconds=rng.randint(0, 10**15))),
    ]


def _ts(rng: random.Random, as_of: datetime, lo_h: int, hi_h: int) -> datetime:
    return as_of + timedelta(
        seconds=rng.randint(lo_h * 3600, hi_h * 3600), microseconds=rng.randint(0, 999999)
    )


@dataclass
class Dataset:
    user_rows: list[tuple[Any, ...]]
    user_rows_v2: list[tuple[Any, ...]]
    store_rows: list[tuple[Any, ...]]


def random_dataset(seed: int, as_of: datetime, n_users: int = 80) -> Dataset:
    rng = random.Random(seed)
    user_rows, v2_rows, store_rows = [], [], []
    for uid in range(1, n_users + 1):
        for ts in {_ts(rng, as_of, -96, 24) for _ in range(rng.randint(0, 4))}:
            user_rows.append((uid, ts, None, *_values(rng)))
        for ts in {_ts(rng, as_of, -60, 12) for _ in range(rng.randint(0, 3))}:
            # ties on feature_ts broken by created_ts (NULL lowest, never two equal)
            createds = rng.sample(
                [None, ts + timedelta(minutes=5), ts + timedelta(hours=2)], rng.randint(1, 3)
            )
            for created in createds:
                v2_rows.append((uid, ts, created, *_values(rng)))
    for store in ["s1", "s|2", "s\\3", "ü"]:
        for country in ["DE", "FR", "US"]:
            for ts in {_ts(rng, as_of, -20, 4) for _ in range(rng.randint(0, 3))}:
                for created in rng.sample([None, ts + timedelta(minutes=1), ts + timedelta(minutes=9)], 2):
                    store_rows.append(
                        (
                            store,
                            country,
                            ts,
                            created,
                            _maybe(rng, rng.uniform(0, 1e4)),
                            _maybe(rng, rng.randint(0, 50)),
                        )
                    )
    return Dataset(user_rows, v2_rows, store_rows)


def load_dataset(path: Path, data: Dataset) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists raw")
    user_ddl = (
        "(user_id bigint, feature_ts timestamp, created_ts timestamp, f_int bigint, f_float double,"
        " f_dec decimal(18,4), f_bool boolean, f_str varchar, f_ts timestamp)"
    )
    for table, rows in (("user_rows", data.user_rows), ("user_rows_v2", data.user_rows_v2)):
        con.execute(f"create or replace table raw.{table} {user_ddl}")
        if rows:
            con.executemany(f"insert into raw.{table} values ({', '.join('?' * 9)})", rows)
    con.execute(
        "create or replace table raw.store_rows (store_id varchar, country varchar, feature_ts timestamp,"
        " created_ts timestamp, revenue double, orders integer)"
    )
    con.executemany("insert into raw.store_rows values (?, ?, ?, ?, ?, ?)", data.store_rows)
    con.close()


def snapshot_build(src_db: Path, src_target: Path, dest: Path) -> tuple[Path, Path]:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(src_db, dest / "warehouse.duckdb")
    shutil.copytree(src_target, dest / "target", dirs_exist_ok=True)
    return dest / "warehouse.duckdb", dest / "target"


def assert_store_equals_pit(store: OnlineStore, warehouse: Path, as_of: datetime) -> int:
    """Every entity read back at as_of equals the point-in-time join at label_ts = as_of (or is absent)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    checked = 0
    try:
        for store_id, relation, keys, cols in VIEWS:
            rows = con.execute(
                f"select {', '.join(keys)}, label_ts, feature_ts, {', '.join(cols)} from main.{relation}"
            ).fetchall()
            served = set(store.snapshot(store_id, as_of))
            expected_served = set()
            for row in rows:
                key = entity_key(row[: len(keys)])
                assert row[len(keys)] == as_of
                feature_ts, values = row[len(keys) + 1], row[len(keys) + 2 :]
                got = store.get(store_id, key, as_of)
                if feature_ts is None:
                    assert got is None, f"{store_id} {key}: expected absent, store has {got}"
                    continue
                expected_served.add(key)
                assert got is not None, (
                    f"{store_id} {key}: expected {values} at {feature_ts}, store has nothing"
                )
                assert got.feature_ts == feature_ts, (store_id, key)
                assert got.values == dict(zip(cols, values, strict=True)), (store_id, key)
                assert [type(got.values[c]) for c in cols] == [type(v) for v in values], (store_id, key)
                checked += 1
            assert served == expected_served, f"{store_id}: extra {served - expected_served}"
    finally:
        con.close()
    return checked
