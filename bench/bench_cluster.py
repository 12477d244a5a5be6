"""Benchmark of the Redis Cluster store (issue 11): push rows/s and SDK read latency on a private local
3-primary Redis Cluster against a private single redis-server, in the same run, on the same data.

Data: bench_serving's two views (bench_push's generator: 10 features each, one row per entity) and the
service over both. Push: `push()` in-process, a full push of both views into a fresh key prefix (best of
`--reps`, single and cluster interleaved). Reads: `FeatureStore.get_online_features` of 1 entity x 1 view and
of 100 entities x 2 views (the service), round-robin over both stores, p50/p90/p99 of `--read-reps` calls.

    .venv/bin/python bench/bench_cluster.py [--entities 100000] [--reps 3] [--read-reps 3000]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import bench_serving  # noqa: E402  (the same views and service as the serving benchmark)
from bench_push import FEATURES  # noqa: E402
from fstore_testing.redis_cluster import start_cluster  # noqa: E402
from fstore_testing.redis_server import free_port, start_redis  # noqa: E402

from fsync import FeatureStore  # noqa: E402
from fsync.manifest import load_manifest  # noqa: E402
from fsync.online.push import PushOptions, push  # noqa: E402
from fsync.online.stores.base import OnlineStore  # noqa: E402
from fsync.online.stores.redis import RedisStore  # noqa: E402
from fsync.online.stores.redis_cluster import RedisClusterStore  # noqa: E402
from fsync.warehouse import DuckDBReader  # noqa: E402


def push_once(store: OnlineStore, db: Path, target: Path, now: datetime) -> tuple[float, int]:
    manifest = load_manifest(target)
    started = time.perf_counter()
    reader = DuckDBReader(db)
    summary = push(manifest, manifest.select_online([]), reader, store, PushOptions(as_of=now, wall_now=now))
    elapsed = time.perf_counter() - started
    reader.close()
    assert all(v.status == "pushed" for v in summary.views), summary
    return elapsed, sum(v.rows for v in summary.views)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=100_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--read-reps", type=int, default=3000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_cluster_"))
    port = free_port()
    single = start_redis(work, port)
    cluster = start_cluster(work / "cluster")
    try:
        return run(work, f"redis://127.0.0.1:{port}/0", cluster.url, args)
    finally:
        single.terminate()
        single.wait(10)
        cluster.stop()


def run(work: Path, single_url: str, cluster_url: str, args: argparse.Namespace) -> int:
    now = datetime.now(UTC).replace(tzinfo=None)
    db, target = work / "wh.duckdb", work / "target"
    bench_serving.make_warehouse(db, args.entities, now)
    bench_serving.write_artifacts(target)
    kinds = {
        "single Redis": lambda prefix: RedisStore(single_url, prefix=prefix),
        "3-primary cluster": lambda prefix: RedisClusterStore(cluster_url, prefix=prefix),
    }
    pushes: dict[str, list[float]] = {k: [] for k in kinds}
    rows = 0
    for rep in range(args.reps):
        for kind, make in kinds.items():
            store = make(f"push{rep}")
            elapsed, rows = push_once(store, db, target, now)
            store.close()
            pushes[kind].append(elapsed)
    # the read benchmark reads what the first push wrote
    settings: dict[str, dict[str, Any]] = {
        "single Redis": dict(redis_url=single_url),
        "3-primary cluster": dict(redis_url=cluster_url, redis_cluster=True),
    }
    stores = {
        k: FeatureStore(work, target_path=target, duckdb_path=str(db), store="redis", key_prefix="push0", **s)
        for k, s in settings.items()
    }
    rng = random.Random(9)
    ones = [rng.randrange(args.entities) for _ in range(1000)]
    batches = [[rng.randrange(args.entities) for _ in range(100)] for _ in range(64)]
    features = [f"bench_a:{f}" for f in FEATURES]

    def one(fs: FeatureStore, i: int) -> None:
        r = fs.get_online_features([{"user_id": ones[i % len(ones)]}], features=features)
        assert r.statuses["bench_a"][0] == "present"

    def batch(fs: FeatureStore, i: int) -> None:
        r = fs.get_online_features({"user_id": batches[i % len(batches)]}, service="bench_training")
        assert r.statuses["bench_b"].count("present") == 100

    measures = {
        f"{kind}, SDK {what}": (fn, fs)
        for what, fn in (("1 entity x 1 view", one), ("100 entities x 2 views", batch))
        for kind, fs in stores.items()
    }
    times: dict[str, list[float]] = {name: [] for name in measures}
    for fn, fs in measures.values():
        for i in range(50):
            fn(fs, i)
    for i in range(args.read_reps):
        for name, (fn, fs) in measures.items():
            t0 = time.perf_counter()
            fn(fs, i)
            times[name].append(time.perf_counter() - t0)
    for fs in stores.values():
        fs.close()

    print(f"\n{args.entities:,} entities x 2 views ({rows:,} rows per push); best of {args.reps} pushes\n")
    print("| store | full push s (best) | rows/s | vs single |")
    print("|---|---:|---:|---:|")
    base = min(pushes["single Redis"])
    for kind, samples in pushes.items():
        best = min(samples)
        print(f"| {kind} | {best:.2f} | {rows / best:,.0f} | {base / best:.2f}x |")
    print(f"\n{args.read_reps} calls each, round-robin\n")
    print("| read | p50 ms | p90 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    for name, samples in times.items():
        p = [bench_serving.pct(samples, q) * 1000 for q in (0.5, 0.9, 0.99)]
        print(f"| {name} | {p[0]:.3f} | {p[1]:.3f} | {p[2]:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
