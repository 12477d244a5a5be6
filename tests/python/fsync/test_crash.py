"""Crash safety and outages: SIGKILL at random moments then push again == a clean push; Redis unreachable or
restarted mid-push -> exit 3, clear message, watermark unchanged, secrets never printed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import redis
from fstore_testing.artifacts import fv_meta, write_artifacts
from fstore_testing.cli import fsync
from fstore_testing.dbt import ROOT
from fstore_testing.redis_server import free_port, start_redis
from fstore_testing.stores import open_store_from_env, project_env, served, store_settings

T1 = datetime(2024, 6, 1)
T2 = T1 + timedelta(hours=6)
VIEWS = [
    {
        "name": "fv",
        "version": 1,
        "alias": "fv_v1",
        "meta": fv_meta(ttl="2d"),
        "columns": {"user_id": "bigint", "feature_ts": "timestamp", "a": "double", "b": "varchar"},
    },
    {
        "name": "fv",
        "version": 2,
        "alias": "fv_v2",
        "meta": fv_meta(ttl="1d"),
        "columns": {"user_id": "bigint", "feature_ts": "timestamp", "a": "double", "b": "varchar"},
    },
]
N = 30000


def _warehouse(path: Path, seed: int, changed_after: datetime | None = None) -> None:
    con = duckdb.connect(str(path))
    for alias in ("fv_v1", "fv_v2"):
        con.execute(
            f"create or replace table main.{alias} as select range as user_id,"
            f" timestamp '2024-05-30'"
            f" + to_microseconds(cast(hash(range, {seed}) % 172800000000 as bigint)) as feature_ts,"
            f" (hash(range * 7, {seed}) % 1000) / 8.0 as a, 'v' || (hash(range, {seed}) % 97) as b"
            f" from range({N})"
        )
        if changed_after is not None:  # 20% of entities get a newer row
            con.execute(
                f"insert into main.{alias} select user_id, timestamp '{changed_after}' + interval 1 hour,"
                f" -a, b || '!' from main.{alias} where user_id % 5 = 0"
            )
    con.close()


def _env(tmp_path: Path, db: Path, store_env: dict[str, str]) -> dict[str, str]:
    return project_env(tmp_path, db, store_env, batch_size=40)


def _spawn(env: dict[str, str], as_of: datetime) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "fsync", "push", "--as-of", as_of.isoformat()],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _interrupted_mid_write(env: dict[str, str], now: datetime) -> bool:
    """A view's entities were written but its watermark was not (the kill landed mid-push)."""
    store = open_store_from_env(env)
    try:
        return any(
            store.get_watermark(v) is None and store.snapshot(v, now) for v in ("fv:v1", "fv:v2")
        ) or any(
            (wm := store.get_watermark(v)) is not None and wm["as_of"] != now.isoformat()
            for v in ("fv:v1", "fv:v2")
        )
    finally:
        store.close()


def _state(env: dict[str, str], now: datetime) -> dict:
    """Entities served at `now`, leaving out those that expire within minutes: Redis drops them on its own
    (wall) clock while the test runs, at slightly different moments in the two stores being compared."""
    store = open_store_from_env(env)
    try:
        return {v: served(store, v, now + timedelta(minutes=10)) for v in ("fv:v1", "fv:v2")}
    finally:
        store.close()


@pytest.mark.parametrize("scenario", ["first-push", "incremental"])
def test_sigkill_at_random_moments_then_push_equals_clean_push(
    tmp_path: Path, store_kind: str, redis_url: str, scenario: str
) -> None:
    d1, d2 = tmp_path / "d1.duckdb", tmp_path / "d2.duckdb"
    _warehouse(d1, seed=1)
    _warehouse(d2, seed=1, changed_after=T1)
    write_artifacts(tmp_path / "target", VIEWS)
    final_db, final_t = (d1, T1) if scenario == "first-push" else (d2, T2)

    clean = store_settings(store_kind, redis_url, tmp_path, prefix="clean")
    if scenario == "incremental":
        assert fsync(_env(tmp_path, d1, clean), "push", "--as-of", T1.isoformat()).exit_code == 0
    started = time.perf_counter()  # the clean push runs as a subprocess too, to time it
    proc = _spawn(_env(tmp_path, final_db, clean), final_t)
    assert proc.wait() == 0, proc.stderr.read() if proc.stderr else ""
    duration = time.perf_counter() - started

    def fresh_store(n: int) -> dict[str, str]:
        settings = store_settings(store_kind, redis_url, tmp_path, prefix=f"crash{n}")
        if scenario == "incremental":
            assert fsync(_env(tmp_path, d1, settings), "push", "--as-of", T1.isoformat()).exit_code == 0
        return settings

    # Kill pushes at random moments, over and over, on the same store. Timing depends on the machine's load,
    # so keep going (bounded) until several kills landed and at least one of them mid-write; a push that
    # completes leaves nothing to interrupt, so the scenario then starts over on a fresh store.
    rng = random.Random(42)
    attempts = kills = partial = 0
    crashed = fresh_store(attempts)
    last_killed = False
    while attempts < 60 and not (kills >= 4 and partial >= 1 and last_killed):
        attempts += 1
        proc = _spawn(_env(tmp_path, final_db, crashed), final_t)
        time.sleep(rng.uniform(0.05, 0.95) * duration)
        last_killed = proc.poll() is None
        if last_killed:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        if last_killed:
            partial += _interrupted_mid_write(crashed, final_t)
        else:
            crashed = fresh_store(attempts)
    assert kills >= 4, "the pushes finished before they could be killed; make the data set larger"
    assert partial >= 1, "no kill landed in the middle of writing"
    res = fsync(_env(tmp_path, final_db, crashed), "push", "--as-of", final_t.isoformat())
    assert res.exit_code == 0, res.output
    expected = _state(clean, final_t)
    assert len(expected["fv:v1"]) > 1000
    assert _state(crashed, final_t) == expected


def test_redis_unreachable_exit_3_without_secrets(tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    _warehouse(db, seed=2)
    write_artifacts(tmp_path / "target", VIEWS)
    env = {
        **_env(tmp_path, db, {}),
        "FSYNC_STORE": "redis",
        "FSYNC_RETRIES": "2",
        "FSYNC_RETRY_BACKOFF": "0.01",
        "FSYNC_REDIS_URL": f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0",
    }
    res = fsync(env, "push", "--as-of", T1.isoformat())
    assert res.exit_code == 3
    assert "Redis at redis://:***@127.0.0.1:" in res.output and "unavailable" in res.output
    assert "s3cret-pw" not in res.output and "Traceback" not in res.output


def test_password_redis_and_restart_mid_push(tmp_path: Path) -> None:
    db = tmp_path / "d.duckdb"
    _warehouse(db, seed=3)
    write_artifacts(tmp_path / "target", VIEWS)
    port = free_port()
    server = start_redis(tmp_path, port, password="s3cret-pw")
    url = f"redis://:s3cret-pw@127.0.0.1:{port}/0"
    env = {
        **_env(tmp_path, db, {}),
        "FSYNC_STORE": "redis",
        "FSYNC_REDIS_URL": url,
        "FSYNC_KEY_PREFIX": "p",
        "FSYNC_RETRIES": "6",
        "FSYNC_RETRY_BACKOFF": "0.05",
        "FSYNC_BATCH_SIZE": "20",
    }
    client = redis.Redis.from_url(url)
    try:
        proc = _spawn(env, T1)
        deadline = time.time() + 30
        while client.dbsize() < 200 and time.time() < deadline:
            time.sleep(0.01)
        server.kill()  # restart mid-push: every write so far is lost
        server.wait()
        server = start_redis(tmp_path, port, password="s3cret-pw")
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 3, err.decode()
        assert b"s3cret-pw" not in err and b"Traceback" not in err
        assert (
            client.hget("p:__watermarks", "fv:v1") is None or client.hget("p:__watermarks", "fv:v2") is None
        )
        res = fsync(env, "push", "--as-of", T1.isoformat(), "--json")
        assert res.exit_code == 0 and "s3cret-pw" not in res.output and "redis://:***@" in res.output
        store = open_store_from_env({"FSYNC_STORE": "redis", "FSYNC_REDIS_URL": url, "FSYNC_KEY_PREFIX": "p"})
        assert len(store.snapshot("fv:v1", T1)) > 1000
    finally:
        server.kill()
        server.wait()
