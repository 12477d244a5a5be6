"""The served-value log: every logged SDK read lands in the store's log in the read's own round trip, and
`fsync logs export` drains it into Parquet files and a warehouse table exactly once, even when the export is
SIGKILLed at random moments (seeded, bounded) while reads keep being logged."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fstore_testing.demo import DemoBuild
from fstore_testing.stores import open_store_from_env, store_settings

from fsync import FeatureStore
from fsync.jsonvalue import jsonable
from fsync.serving.export import read_parquet

LAST_DAY = datetime(2024, 12, 1, 12, 0)


def _env(demo: DemoBuild, kind: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    warehouse = tmp_path / "warehouse.duckdb"  # a copy: the export writes into the warehouse
    shutil.copy(demo.duckdb_path, warehouse)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FSYNC_", "DBT_"))}
    env.update({k: v for k, v in demo.fsync_env().items() if v is not None})
    env.update(store_settings(kind, redis_url, tmp_path))
    env["FSYNC_DUCKDB_PATH"] = str(warehouse)
    result = demo.fsync("push", "--as-of", LAST_DAY.isoformat(), env=env)
    assert result.exit_code == 0, result.output
    return env


Served = dict[tuple[str, str, str], tuple[str, dict[str, Any]]]


def _reads(fs: FeatureStore, rng: random.Random, first: int, count: int, served: Served) -> None:
    """`count` logged reads of 1-3 users through the churn_model service; what each served, by
    (request id, view, entity key)."""
    plan = fs.plan(service="churn_model")
    for i in range(first, first + count):
        users = rng.sample([1150, 1151, 1152, 1200, 999_999], rng.randint(1, 3))
        rid = f"req{i:05d}"
        result = fs.get_online_features(
            [{"user_id": u} for u in users], service="churn_model", request_id=rid, now=LAST_DAY
        )
        assert result.request_id == rid
        for view in plan.views:
            for j, user in enumerate(users):
                state = result.statuses[view.label][j]
                values = (
                    {f: result.columns[o][j] for f, o in zip(view.fields, view.outputs, strict=True)}
                    if state in ("present", "null")
                    else {}
                )
                served[(rid, view.request.view.name, str(user))] = (state, jsonable(values))


def _export(env: dict[str, str], out: Path, batch: int = 5) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fsync",
            "logs",
            "export",
            "--out",
            str(out),
            "--to-warehouse",
            "--batch-size",
            str(batch),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.parametrize("kind", ["redis", "sqlite"])
def test_export_is_exactly_once_across_sigkill(
    duckdb_demo: DemoBuild, kind: str, redis_url: str, tmp_path: Path
) -> None:
    env = _env(duckdb_demo, kind, redis_url, tmp_path)
    fs = FeatureStore(env["FSYNC_PROJECT_DIR"], env=env)
    rng = random.Random(20261201)
    served: Served = {}
    _reads(fs, rng, 0, 600, served)
    out = tmp_path / "served"
    kills, n = 0, 600
    for _ in range(12):  # bounded: at most 12 interrupted exports, then one that runs to the end
        proc = _export(env, out)
        time.sleep(rng.uniform(0.3, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
        else:
            assert proc.returncode == 0, proc.communicate()[0]
        _reads(fs, rng, n, 25, served)  # the service keeps serving (and logging) between exports
        n += 25
    fs.flush_log()  # the last logged read's entry rides ahead of the next round trip: send it now
    proc = _export(env, out, batch=50)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    assert kills >= 3, f"only {kills} exports were killed mid-way: the test proves nothing"

    rows = read_parquet(out)
    keys = [(r["request_id"], r["view"], r["entity_key"]) for r in rows]
    assert Counter(keys).most_common(1)[0][1] == 1  # nothing twice
    assert set(keys) == set(served)  # nothing lost
    for r in rows:
        assert (r["status"], r["feature_values"]) == served[(r["request_id"], r["view"], r["entity_key"])]
        assert r["service"] == "churn_model" and r["served_now"] == LAST_DAY
    assert not list(out.glob(".tmp-*"))
    con = duckdb.connect(env["FSYNC_DUCKDB_PATH"], read_only=True)
    try:
        table = con.execute(
            "select request_id, view, entity_key, status from main.fsync_served_values"
        ).fetchall()
    finally:
        con.close()
    assert Counter((a, b, c) for a, b, c, _ in table) == Counter(keys)
    store = open_store_from_env(env)
    try:
        assert store.log_length() == 0  # trimmed once both destinations hold everything
    finally:
        store.close()
        fs.close()


def test_logging_off_on_and_sampled_per_service(
    duckdb_demo: DemoBuild, redis_url: str, tmp_path: Path
) -> None:
    env = _env(duckdb_demo, "redis", redis_url, tmp_path)
    fs = FeatureStore(env["FSYNC_PROJECT_DIR"], env=env)
    store = open_store_from_env(env)
    try:
        rows = [{"user_id": 1150}]
        for _ in range(20):
            fs.get_online_features(rows, service="training_churn")  # no log declared: off
            fs.get_online_features(rows, features=["user_session_features:session_count_7d"])  # off
        fs.flush_log()
        assert store.log_length() == 0
        fs.get_online_features(rows, service="training_churn", log=True)  # asked for
        fs.get_online_features(rows, service="churn_model", log=False)  # asked not to
        fs.flush_log()
        assert store.log_length() == 1
        for _ in range(200):
            fs.get_online_features(rows, service="fraud_model")  # log: 0.5
        fs.flush_log()
        assert 60 <= store.log_length() - 1 <= 140
    finally:
        store.close()
        fs.close()


def test_export_errors_are_one_line(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    result = duckdb_demo.fsync("logs", "export", env=store_settings("sqlite", "", tmp_path))
    assert result.exit_code == 2 and "give --out DIR and/or --to-warehouse" in result.output
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = duckdb_demo.fsync(
        "logs", "export", "--out", str(blocker / "x"), "--json", env=store_settings("sqlite", "", tmp_path)
    )
    assert (
        result.exit_code == 2 and '"kind": "user_error"' in result.output and "Traceback" not in result.output
    )
