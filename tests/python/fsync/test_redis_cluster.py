"""fsync on a real Redis Cluster of private local redis-server processes (3 primaries; one replica each for
the failover test): keys spread over every primary, a push equal key by key to a push into a single Redis, a
primary lost mid-push (exit 3, watermark unchanged, the rerun converges to a clean push), and reads during an
outage or a failover that are right or a clear error, never wrong values. The shared store contract suite
(test_stores.py) runs on the session's cluster too."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import redis
from fstore_testing.artifacts import fv_meta, write_artifacts
from fstore_testing.cli import fsync
from fstore_testing.redis_cluster import LocalCluster, start_cluster
from fstore_testing.stores import open_store_from_env, project_env, served_from_env, store_settings
from redis.cluster import RedisCluster
from redis.crc import key_slot

from fsync.errors import InfraUnavailable
from fsync.manifest import load_manifest
from fsync.online.push import PushOptions, push
from fsync.online.stores.base import ViewRead
from fsync.online.stores.redis_cluster import RedisClusterStore
from fsync.warehouse import DuckDBReader

T0 = datetime(2024, 6, 1)
N = 3000
VIEW = {
    "name": "fv",
    "meta": fv_meta(ttl="2d"),
    "columns": {"user_id": "bigint", "feature_ts": "timestamp", "a": "double", "b": "varchar"},
}


def _warehouse(path: Path, version: int) -> None:
    """One row per entity and version; version 2 moves a third of the entities on and drops a tenth."""
    con = duckdb.connect(str(path))
    con.execute(
        "create or replace table main.fv as"
        f" select range as user_id, timestamp '{T0}' - to_hours(cast(range % 30 as bigint))"
        f" + case when {version} = 2 and range % 3 = 0 then interval 1 day else interval 0 day end"
        " as feature_ts,"
        f" (hash(range, {version}) % 1000) / 8.0 as a, 'v' || (hash(range * 3) % 97) || '-{version}' as b"
        f" from range({N}) where {version} = 1 or range % 10 <> 7"
    )
    con.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    _warehouse(tmp_path / "wh.duckdb", 1)
    write_artifacts(tmp_path / "target", [VIEW])
    return tmp_path


def _env(project: Path, kind: str, url: str, prefix: str) -> dict[str, str]:
    return project_env(
        project, project / "wh.duckdb", store_settings(kind, url, project, prefix), batch_size=50
    )


def _served(env: dict[str, str], now: datetime) -> dict[str, tuple[object, ...]]:
    return served_from_env(env, "fv:_", now)


def test_a_push_spreads_over_every_primary_and_equals_a_single_redis_push(
    project: Path, redis_cluster: LocalCluster, redis_url: str
) -> None:
    cluster_env = _env(project, "redis-cluster", redis_cluster.url, "spread")
    single_env = _env(project, "redis", redis_url, "spread")
    for env in (cluster_env, single_env):
        res = fsync(env, "push", "--as-of", T0.isoformat(), "--json")
        assert res.exit_code == 0, res.output
    expected = _served(single_env, T0)
    assert len(expected) == N and _served(cluster_env, T0) == expected
    prefix = cluster_env["FSYNC_KEY_PREFIX"]
    per_node = [
        len(list(n.client().scan_iter(match=f"{prefix}:fv:_:*", count=1000))) for n in redis_cluster.primaries
    ]
    assert sum(per_node) == N and min(per_node) > N / 5, per_node  # entity keys keep their own slots
    # bookkeeping shares one slot (a watermark is fenced by the lease in one script)
    slots = {
        key_slot(f"{{{prefix}}}:{name}".encode())
        for name in ("__watermarks", "__generations", "__lease:fv:_")
    }
    assert len(slots) == 1
    # every primary holds the view's fence, with the epoch and token of the push that last took the lease
    fences = [n.client().keys(f"{prefix}:__fence:fv:_:*") for n in redis_cluster.primaries]
    assert all(len(f) == 1 for f in fences), fences
    # an incremental push changes the same keys on both
    _warehouse(project / "wh.duckdb", 2)
    later = T0 + timedelta(hours=20)
    for env in (cluster_env, single_env):
        res = fsync(env, "push", "--as-of", later.isoformat(), "--json")
        assert res.exit_code == 0 and '"mode": "incremental"' in res.output, res.output
    assert _served(cluster_env, later) == _served(single_env, later)


@pytest.fixture
def outage_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    """A cluster of its own: its nodes are stopped and started."""
    cluster = start_cluster(tmp_path / "cluster")
    yield cluster
    cluster.stop()


def _bookkeeping_node(cluster: LocalCluster, prefix: str) -> int:
    """The index of the primary holding the prefix's bookkeeping slot."""
    client = RedisCluster.from_url(cluster.url)
    port = client.get_node_from_key(f"{{{prefix}}}:__watermarks").port
    client.close()
    return [n.port for n in cluster.primaries].index(port)


def test_a_primary_stopped_mid_push_is_exit_3_and_the_rerun_converges(
    project: Path, outage_cluster: LocalCluster
) -> None:
    env = _env(project, "redis-cluster", outage_cluster.url, "outage")
    assert fsync(env, "push", "--as-of", T0.isoformat()).exit_code == 0
    store = open_store_from_env(env)
    before = store.get_watermark("fv:_")
    store.close()
    _warehouse(project / "wh.duckdb", 2)
    later = T0 + timedelta(hours=20)
    # Stop a primary that does not hold the watermark, half-way through the push's writes.
    victim = outage_cluster.primaries[(_bookkeeping_node(outage_cluster, env["FSYNC_KEY_PREFIX"]) + 1) % 3]

    def stop_half_way(view: str, done: int, total: int) -> None:
        if done >= total // 2 and victim.proc is not None:
            victim.stop()

    store = RedisClusterStore(
        env["FSYNC_REDIS_URL"], prefix=env["FSYNC_KEY_PREFIX"], retries=1, backoff_s=0.1
    )
    reader = DuckDBReader(project / "wh.duckdb")
    manifest = load_manifest(project / "target")
    opts = PushOptions(as_of=later, full_refresh=True, batch_size=50)
    with pytest.raises(InfraUnavailable) as failed:
        push(manifest, manifest.select_online([]), reader, store, opts, stop_half_way)
    reader.close()
    assert failed.value.exit_code == 3 and victim.proc is None
    # reads that need the lost primary fail clearly; the watermark (on another primary) did not move
    with pytest.raises(InfraUnavailable, match="unavailable"):
        store.read_many([ViewRead("fv:_", [str(i) for i in range(30)], ["a"])])
    assert store.get_watermark("fv:_") == before
    store.close()
    res = fsync(
        {**env, "FSYNC_RETRIES": "1", "FSYNC_RETRY_BACKOFF": "0.1"}, "push", "--as-of", later.isoformat()
    )
    assert res.exit_code == 3, res.output
    # The primary comes back empty (no persistence): the rerun sees it and pushes in full.
    victim.start()
    outage_cluster.wait_ok()
    res = fsync(env, "push", "--as-of", later.isoformat(), "--json")
    assert res.exit_code == 0 and "restarted without its data" in res.output, res.output
    clean = _env(project, "redis-cluster", outage_cluster.url, "clean")
    assert fsync(clean, "push", "--as-of", later.isoformat()).exit_code == 0
    expected = _served(clean, later)
    assert len(expected) > N // 2 and _served(env, later) == expected


def test_reads_during_a_failover_are_right_or_a_clear_error(project: Path, tmp_path: Path) -> None:
    cluster = start_cluster(tmp_path / "ha", replicas=1)
    try:
        env = _env(project, "redis-cluster", cluster.url, "failover")
        assert fsync(env, "push", "--as-of", T0.isoformat()).exit_code == 0
        for node in cluster.primaries:  # every write is on the replicas before a primary goes
            node.client().execute_command("WAIT", 1, 5000)
        store = RedisClusterStore(env["FSYNC_REDIS_URL"], prefix=env["FSYNC_KEY_PREFIX"], retries=0)
        entities = [str(i) for i in range(0, N, 7)]
        read = [ViewRead("fv:_", entities, ["a", "b"])]
        expected = store.read_many(read)
        assert all(row[-1] is not None for row in expected[0])
        cluster.primaries[0].stop()
        outcomes = {"right": 0, "error": 0}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.02)
            try:
                got = store.read_many(read)
            except InfraUnavailable as exc:
                assert "Redis" in str(exc) and "\n" not in str(exc)
                outcomes["error"] += 1
                continue
            assert got == expected  # never a wrong value
            outcomes["right"] += 1
            if outcomes["error"]:
                break  # served again after the failover
        assert outcomes["error"] >= 1, outcomes  # the lost primary was noticed
        cluster.wait_failover(cluster.primaries[0])
        recovered = RedisClusterStore(
            env["FSYNC_REDIS_URL"].replace(str(cluster.primaries[0].port), str(cluster.primaries[1].port)),
            prefix=env["FSYNC_KEY_PREFIX"],
        )
        assert recovered.read_many(read) == expected
        recovered.close()
        store.close()
    finally:
        cluster.stop()


def test_a_brace_in_the_prefix_is_refused(redis_cluster: LocalCluster) -> None:
    from fsync.errors import FsyncError

    with pytest.raises(FsyncError, match="brace"):
        RedisClusterStore(redis_cluster.url, prefix="a{b}")


def test_the_cluster_setting_selects_the_cluster_store(project: Path, redis_cluster: LocalCluster) -> None:
    env = _env(project, "redis-cluster", redis_cluster.url, "setting")
    res = fsync(env, "push", "--as-of", T0.isoformat(), "--json")
    assert res.exit_code == 0 and '"store": "redis-cluster:redis://127.0.0.1:' in res.output, res.output
    # a plain client of one node is redirected for the keys of the others
    with pytest.raises(redis.exceptions.MovedError):
        for node in redis_cluster.primaries:
            node.client().hgetall(f"{env['FSYNC_KEY_PREFIX']}:fv:_:1")
