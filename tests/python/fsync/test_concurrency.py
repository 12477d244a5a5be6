"""Concurrent pushes of one view into one store: randomized, seeded interleavings of full and incremental
pushes (threads in this process and `fsync push` processes; SQLite, Redis and Redis Cluster) end, key by
key, equal to a clean push at the as-of of the last push that completed. A second push waits (--wait) or
reports the view busy (exit 3, nothing written); a lease whose holder died does not block the next push."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fstore_testing.artifacts import fv_meta, write_artifacts
from fstore_testing.cli import fsync
from fstore_testing.dbt import ROOT
from fstore_testing.stores import open_store_from_env, project_env, served_from_env, store_settings

from fsync.manifest import load_manifest
from fsync.online.push import PushOptions, push
from fsync.warehouse import DuckDBReader

T0 = datetime(2024, 6, 1)
AS_OFS = [T0 - timedelta(hours=12), T0, T0 + timedelta(hours=6), T0 + timedelta(hours=20)]
N = 3000
VIEW = {
    "name": "fv",
    "meta": fv_meta(ttl="2d"),
    "columns": {"user_id": "bigint", "feature_ts": "timestamp", "a": "double", "b": "varchar"},
}


def _warehouse(path: Path) -> None:
    """Entities with history: 1-4 rows each between T0 - 3d and T0 + 1d, so later as-ofs see newer rows
    and some entities expire or appear between the as-ofs."""
    con = duckdb.connect(str(path))
    con.execute(
        "create or replace table main.fv as"
        " select u.range as user_id,"
        f" timestamp '{T0 - timedelta(days=3)}' + to_microseconds(cast(hash(u.range, r.range) % 345600000000"
        " as bigint)) as feature_ts,"
        " (hash(u.range * 7, r.range) % 1000) / 8.0 as a, 'v' || (hash(u.range, r.range) % 97) as b"
        f" from range({N}) as u, range(4) as r where r.range <= hash(u.range) % 4"
    )
    con.close()


def _env(tmp_path: Path, db: Path, store_env: dict[str, str]) -> dict[str, str]:
    return project_env(tmp_path, db, store_env, batch_size=50)


def _in_process(env: dict[str, str], as_of: datetime, full: bool, wait: float) -> tuple[int, str]:
    store = open_store_from_env(env)
    reader = DuckDBReader(Path(env["FSYNC_DUCKDB_PATH"]))
    try:
        manifest = load_manifest(Path(env["FSYNC_PROJECT_DIR"]) / "target")
        opts = PushOptions(as_of=as_of, full_refresh=full, batch_size=50, lease_wait_s=wait, wall_now=None)
        summary = push(manifest, manifest.select_online([]), reader, store, opts)
        return summary.exit_code, " ".join(v.message or v.status for v in summary.views)
    finally:
        reader.close()
        store.close()


def _subprocess(env: dict[str, str], as_of: datetime, full: bool, wait: float) -> tuple[int, str]:
    args = [sys.executable, "-m", "fsync", "push", "--as-of", as_of.isoformat(), "--wait", str(wait)]
    proc = subprocess.run(
        args + (["--full-refresh"] if full else []),
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _served(env: dict[str, str], now: datetime) -> dict[str, tuple[object, ...]]:
    return served_from_env(env, "fv:_", now)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The warehouse file, and the view's artifacts next to it."""
    path = tmp_path / "wh.duckdb"
    _warehouse(path)
    write_artifacts(tmp_path / "target", [VIEW])
    return path


def test_randomized_interleavings_end_equal_to_a_clean_push(
    tmp_path: Path, db: Path, any_store_kind: str, any_store_url: str
) -> None:
    store_kind, redis_url = any_store_kind, any_store_url
    rng = random.Random(8)
    contended = 0
    for round_no in range(3):
        env = _env(tmp_path, db, store_settings(store_kind, redis_url, tmp_path, prefix=f"race{round_no}"))
        assert fsync(env, "push", "--as-of", AS_OFS[0].isoformat()).exit_code == 0
        outcomes: list[tuple[int, str, dict[str, Any]]] = []

        def run(spec: dict[str, Any], env: dict[str, str] = env, outcomes: list[Any] = outcomes) -> None:
            time.sleep(spec["delay"])
            runner = _subprocess if spec["process"] else _in_process
            code, text = runner(env, spec["as_of"], spec["full"], spec["wait"])
            outcomes.append((code, text, spec))

        specs = [
            {
                "as_of": rng.choice(AS_OFS),
                "full": rng.random() < 0.5,
                "wait": rng.choice([0.0, 120.0]),
                "process": rng.random() < 0.4,
                "delay": rng.uniform(0, 0.4),
            }
            for _ in range(6)
        ]
        threads = [threading.Thread(target=run, args=(spec,)) for spec in specs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert len(outcomes) == len(specs)
        for code, text, spec in outcomes:
            if code == 3:
                assert spec["wait"] == 0 and "is being pushed into" in text and "by pid" in text, text
                contended += 1
            else:
                assert code == 0, (spec, text)

        store = open_store_from_env(env)
        watermark = store.get_watermark("fv:_")
        store.close()
        assert watermark is not None
        final = datetime.fromisoformat(watermark["as_of"])
        clean = _env(tmp_path, db, store_settings(store_kind, redis_url, tmp_path, prefix=f"clean{round_no}"))
        assert fsync(clean, "push", "--as-of", final.isoformat()).exit_code == 0
        expected = _served(clean, final)
        assert len(expected) > N // 3
        assert _served(env, final) == expected, f"round {round_no}: {specs}"
    assert contended >= 1, "no push ever met another one: the interleavings did not overlap"


def test_a_dead_holder_does_not_block_and_a_live_one_is_reported(
    tmp_path: Path, db: Path, any_store_kind: str, any_store_url: str
) -> None:
    env = _env(tmp_path, db, store_settings(any_store_kind, any_store_url, tmp_path))
    store = open_store_from_env(env)
    # A live holder (this process): the push reports the view busy, exit 3, and writes nothing.
    me = {"pid": os.getpid(), "host": os.uname().nodename}
    assert store.acquire_lease("fv:_", "t" * 32, me, 60) is None
    res = fsync({**env, "FSYNC_LEASE_WAIT": "0.3"}, "push", "--as-of", T0.isoformat(), "--json")
    assert res.exit_code == 3 and '"status": "busy"' in res.output and "after waiting 0.3s" in res.output
    assert store.get_watermark("fv:_") is None and store.snapshot("fv:_", T0) == {}
    store.release_lease("fv:_", "t" * 32)
    # A holder that died on this host: taken over at once.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert store.acquire_lease("fv:_", "d" * 32, {"pid": dead.pid, "host": os.uname().nodename}, 60) is None
    res = fsync(env, "push", "--as-of", T0.isoformat())
    assert res.exit_code == 0, res.output
    assert store.get_watermark("fv:_") is not None
    store.close()


@pytest.mark.parametrize("stale", [False, True])
def test_a_push_that_lost_its_lease_writes_nothing_more(
    tmp_path: Path, any_store_kind: str, any_store_url: str, stale: bool
) -> None:
    """The fence: once another push holds the lease, every write of the old holder is refused (on a cluster,
    on every primary: the batch below spreads over all of them)."""
    from fsync.online.stores.base import Batch, LeaseLost

    env = store_settings(any_store_kind, any_store_url, tmp_path)
    first, second = open_store_from_env(env), open_store_from_env(env)
    assert first.acquire_lease("v", "a" * 32, {}, 0.2 if stale else 60) is None
    batch = Batch(["x"], ["1"], [0], [4 * 10**15], [["i1"]], 1)
    first.write("v", batch)
    first.flush()
    if stale:
        time.sleep(0.3)  # the lease expired: the second push takes it
        assert second.acquire_lease("v", "b" * 32, {}, 60) is None
    else:
        assert second.acquire_lease("v", "b" * 32, {}, 60) is not None  # held
        first.release_lease("v", "a" * 32)
        first._fences["v"] = "a" * 32  # type: ignore[attr-defined]  # as if it still believed it held it
        assert second.acquire_lease("v", "b" * 32, {}, 60) is None
    for entity in map(str, range(2, 12)):  # ten entities: every primary of a cluster gets some
        with pytest.raises(LeaseLost):
            first.write("v", Batch(["x"], [entity], [0], [4 * 10**15], [["i2"]], 1))
            first.flush()
    with pytest.raises(LeaseLost):
        first.delete_stale("v", 9)
    with pytest.raises(LeaseLost):
        first.set_watermark("v", {"as_of": "2024-01-01T00:00:00"})
    assert {e for e, _ in second.scan("v")} == {"1"} and second.get_watermark("v") is None
    first.close()
    second.close()
