"""Benchmark of serving (issue 9): SDK online reads and the HTTP server against raw redis-py, Redis memory per
entity, and historical features against the same compiled SQL run directly in DuckDB.

Online, in one process and one run, on the same keys of a private local redis-server (two views of 10
features each, pushed by fsync): raw redis-py (hiredis) `HMGET` of the 10 features + `__m` of one key, and
a pipelined HMGET of the same fields of 100 keys x 2 views, against `FeatureStore.get_online_features`
of 1 entity x 1 view and of 100 entities x 2 views (a service), with the served-value log off and on.
Measures run round-robin (so noise hits all alike); p50/p99 of `--reps` calls each.
HTTP: a real `fsync serve` process; p50/p99 of one keep-alive client, throughput of 8 concurrent clients.
Historical: `get_historical_features(100k labels, training_set=training_churn)` on the demo built into a
private DuckDB file, second call (compiled SQL cached) against that SQL run directly (best of `--hist-reps`).

    .venv/bin/python bench/bench_serving.py [--entities 10000] [--reps 5000] [--skip-historical]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import bench_push  # noqa: E402  (the same data generator as the push benchmark)
from bench_push import FEATURES  # noqa: E402
from fstore_testing.redis_server import free_port, start_redis  # noqa: E402

from fsync import FeatureStore  # noqa: E402
from fsync.manifest import load_manifest  # noqa: E402
from fsync.online.push import PushOptions, push  # noqa: E402
from fsync.online.stores.redis import RedisStore  # noqa: E402
from fsync.warehouse import DuckDBReader  # noqa: E402

VIEWS = ("bench_a", "bench_b")
PREFIX = "bench"


def make_warehouse(path: Path, n: int, now: datetime) -> None:
    """bench_push's feature view (10 features, one row per entity), served here as two views."""
    bench_push.make_warehouse(path, n, now)
    con = duckdb.connect(str(path))
    for view in VIEWS:
        con.execute(f"create or replace table main.{view} as select * from main.bench_fv")
    con.close()


def write_artifacts(target: Path) -> None:
    """A manifest with two feature views and a training set over both (its fstore.feature_view entries)."""
    target.mkdir(parents=True, exist_ok=True)
    nodes: dict[str, Any] = {}
    for view in VIEWS:
        columns = {"user_id": "bigint", "feature_ts": "timestamp", **FEATURES}
        nodes[f"model.bench.{view}"] = {
            "unique_id": f"model.bench.{view}",
            "resource_type": "model",
            "name": view,
            "database": "wh",
            "schema": "main",
            "alias": view,
            "config": {
                "meta": {
                    "feature_view": {
                        "entity_keys": ["user_id"],
                        "timestamp": "feature_ts",
                        "ttl": "7d",
                        "freshness_sla": "1d",
                        "owner": "bench@example.com",
                        "online": True,
                    }
                },
                "contract": {"enforced": True},
            },
            "columns": {c: {"name": c, "data_type": t} for c, t in columns.items()},
        }
    entries = ", ".join(
        f"fstore.feature_view('{v}', prefix='{v[-1]}__', columns={list(FEATURES)})" for v in VIEWS
    )
    nodes["model.bench.bench_training"] = {
        "unique_id": "model.bench.bench_training",
        "resource_type": "model",
        "name": "bench_training",
        "schema": "main",
        "alias": "bench_training",
        "config": {
            "meta": {
                "training_set": {
                    "label_timestamp": "label_ts",
                    "feature_timestamps": ["a__feature_ts", "b__feature_ts"],
                }
            }
        },
        "raw_code": "{{ fstore.point_in_time_join(labels=ref('labels'), entity_keys=['user_id'],"
        f" feature_views=[{entries}]) }}}}",
        "depends_on": {"nodes": [f"model.bench.{v}" for v in VIEWS]},
    }
    (target / "manifest.json").write_text(
        json.dumps(
            {
                "metadata": {
                    "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                    "adapter_type": "duckdb",
                    "generated_at": "bench",
                },
                "nodes": nodes,
            }
        )
    )
    (target / "run_results.json").write_text(
        json.dumps(
            {
                "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"},
                "args": {"which": "build"},  # fsync trusts the results of a build only
                "results": [{"unique_id": u, "status": "success"} for u in nodes],
            }
        )
    )


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def round_robin(measures: dict[str, Callable[[], Any]], reps: int) -> dict[str, list[float]]:
    """Each measure `reps` times, interleaved; seconds per call."""
    times: dict[str, list[float]] = {name: [] for name in measures}
    for fn in measures.values():  # warm up: connections, scripts, plans
        for _ in range(50):
            fn()
    clock = time.perf_counter
    for _ in range(reps):
        for name, fn in measures.items():
            t0 = clock()
            fn()
            times[name].append(clock() - t0)
    return times


def online(
    url: str, work: Path, n: int, reps: int
) -> tuple[dict[str, list[float]], dict[str, float], FeatureStore]:
    now = datetime.now(UTC).replace(tzinfo=None)
    db = work / "wh.duckdb"
    make_warehouse(db, n, now)
    write_artifacts(work / "target")
    manifest = load_manifest(work / "target")
    store = RedisStore(url, prefix=PREFIX)
    reader = DuckDBReader(db)
    summary = push(manifest, manifest.select_online([]), reader, store, PushOptions(as_of=now, wall_now=now))
    reader.close()
    store.close()
    assert all(v.status == "pushed" and v.rows == n for v in summary.views), summary

    client = redis.Redis.from_url(url, decode_responses=True)
    fields = [*FEATURES, "__m"]
    rng = random.Random(9)
    one = [rng.randrange(n) for _ in range(reps + 100)]
    batches = [[rng.randrange(n) for _ in range(100)] for _ in range(64)]
    settings = dict(target_path=work / "target", store="redis", redis_url=url, key_prefix=PREFIX,
                    duckdb_path=str(db))
    fs = FeatureStore(work, **settings)
    # Logged reads on their own store connection: a logged read's entry rides ahead of the next read on
    # its connection, so the logged measures pay for their own entries in steady state.
    fs_log = FeatureStore(work, **settings)
    features_a = [f"bench_a:{f}" for f in FEATURES]
    it = {"one": 0, "batch": 0}

    def next_one() -> int:
        it["one"] = (it["one"] + 1) % len(one)
        return one[it["one"]]

    def next_batch() -> list[int]:
        it["batch"] = (it["batch"] + 1) % len(batches)
        return batches[it["batch"]]

    def raw_one() -> Any:
        return client.hmget(f"{PREFIX}:bench_a:_:{next_one()}", fields)

    def raw_batch() -> Any:
        pipe = client.pipeline(transaction=False)
        for view in VIEWS:
            for e in next_batch():
                pipe.hmget(f"{PREFIX}:{view}:_:{e}", fields)
        return pipe.execute()

    def sdk_one(log: bool = False) -> Any:
        store = fs_log if log else fs
        r = store.get_online_features([{"user_id": next_one()}], features=features_a, log=log)
        assert r.statuses["bench_a"][0] == "present"
        return r

    def sdk_batch(log: bool = False) -> Any:
        return (fs_log if log else fs).get_online_features(
            {"user_id": next_batch()}, service="bench_training", log=log
        )

    times = round_robin(
        {
            "raw HMGET, 1 key x 11 fields": raw_one,
            "SDK 1 entity x 1 view": sdk_one,
            "SDK 1 entity x 1 view, logged": lambda: sdk_one(True),
            "raw pipelined HMGET, 100 keys x 2 views": raw_batch,
            "SDK 100 entities x 2 views": sdk_batch,
            "SDK 100 entities x 2 views, logged": lambda: sdk_batch(True),
        },
        reps,
    )
    fs_log.close()
    check = sdk_batch()
    assert check.statuses["bench_a"] == ["present"] * 100 and len(check.feature_names) == 20
    client.delete(f"{PREFIX}:__served")
    # Redis memory per entity: MEMORY USAGE of a sample of hashes (one per entity and view).
    sample = [f"{PREFIX}:bench_a:_:{i}" for i in range(0, n, max(1, n // 1000))]
    per_key = sum(client.memory_usage(k, samples=0) or 0 for k in sample) / len(sample)
    info = client.info("memory")
    memory = {"per_hash": per_key, "used_memory": float(info["used_memory"]), "keys": float(client.dbsize())}
    client.close()
    return times, memory, fs


def http_bench(work: Path, url: str, db: Path, reps: int, seconds: float) -> dict[str, Any]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FSYNC_", "DBT_"))},
        "PYTHONPATH": str(ROOT),
        "FSYNC_STORE": "redis",
        "FSYNC_REDIS_URL": url,
        "FSYNC_KEY_PREFIX": PREFIX,
        "FSYNC_PROJECT_DIR": str(work),
        "FSYNC_TARGET_PATH": str(work / "target"),
        "FSYNC_DUCKDB_PATH": str(db),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "fsync", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    body = json.dumps({"feature_service": "bench_training", "entities": {"user_id": [17]}}).encode()
    headers = {"Content-Type": "application/json"}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    c.close()
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

        def call(conn: http.client.HTTPConnection) -> None:
            conn.request("POST", "/get-online-features", body, headers)
            resp = conn.getresponse()
            data = resp.read()
            assert resp.status == 200, data

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for _ in range(100):
            call(conn)
        lat = []
        for _ in range(reps):
            t0 = time.perf_counter()
            call(conn)
            lat.append(time.perf_counter() - t0)
        conn.close()

        counts = [0] * 8
        stop = time.monotonic() + seconds

        def client(i: int) -> None:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            while time.monotonic() < stop:
                call(c)
                counts[i] += 1
            c.close()

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        return {
            "p50": pct(lat, 0.5),
            "p90": pct(lat, 0.9),
            "p99": pct(lat, 0.99),
            "rps8": sum(counts) / elapsed,
            "n8": sum(counts),
        }
    finally:
        proc.terminate()
        proc.wait(10)


def historical(work: Path, labels_n: int, reps: int) -> dict[str, float]:
    """The demo built into a private DuckDB file; 100k random labels; SDK second call vs the same SQL."""
    import pyarrow as pa

    demo = ROOT / "examples" / "demo"
    db = work / "demo.duckdb"
    profiles = work / "profiles"
    profiles.mkdir(exist_ok=True)
    shutil.copy(ROOT / "profiles.example.yml", profiles / "profiles.yml")
    env = {
        **os.environ,
        "FSTORE_DUCKDB_PATH": str(db),
        "DBT_PROFILES_DIR": str(profiles),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    target = work / "demo-target"
    dbt = str(Path(sys.executable).parent / "dbt")
    for step in ("deps", "seed", "build"):
        args = [dbt, step, "--project-dir", str(demo)]
        if step != "deps":
            args += ["--target", "duckdb", "--target-path", str(target), "--log-path", str(work / "logs")]
        proc = subprocess.run(args, cwd=demo, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"dbt {step} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    rng = random.Random(5)
    start = datetime(2024, 1, 1)
    users = list(range(1000, 1300))
    labels = pa.table(
        {
            "user_id": [rng.choice(users) for _ in range(labels_n)],
            "label_ts": [start + timedelta(seconds=rng.randrange(330 * 86400)) for _ in range(labels_n)],
        }
    )
    os.environ.update({"FSTORE_DUCKDB_PATH": str(db), "DBT_PROFILES_DIR": str(profiles)})
    fs = FeatureStore(demo, target_path=target, duckdb_path=str(db), sqlite_path=str(work / "o.sqlite"))
    t0 = time.perf_counter()
    first = fs.get_historical_features(labels, training_set="training_churn")
    first_s = time.perf_counter() - t0
    assert first.num_rows == labels_n
    sql = next(iter(fs._historical._sql.values()))  # type: ignore[union-attr]  # the SQL the SDK ran
    sdk, direct = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        fs.get_historical_features(labels, training_set="training_churn")
        sdk.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        con = duckdb.connect(str(db), read_only=True)
        con.execute("set TimeZone = 'UTC'")
        con.register("fsync_labels", labels)
        out = con.sql(sql).to_arrow_table()
        con.close()
        direct.append(time.perf_counter() - t0)
        assert out.num_rows == labels_n
    small = fs.get_historical_features(labels.slice(0, 500), training_set="training_churn")
    t0 = time.perf_counter()
    fs.get_historical_features(labels.slice(0, 500), training_set="training_churn")
    small_s = time.perf_counter() - t0
    assert small.num_rows == 500
    return {"first": first_s, "sdk": min(sdk), "direct": min(direct), "small_second": small_s}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entities", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=5000)
    ap.add_argument("--http-reps", type=int, default=3000)
    ap.add_argument("--http-seconds", type=float, default=5.0)
    ap.add_argument("--labels", type=int, default=100_000)
    ap.add_argument("--hist-reps", type=int, default=5)
    ap.add_argument("--skip-historical", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fsync-bench-serving-"))
    port = free_port()
    server = start_redis(work, port)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        times, memory, fs = online(url, work, args.entities, args.reps)
        fs.close()
        web = http_bench(work, url, work / "wh.duckdb", args.http_reps, args.http_seconds)
        hist = None if args.skip_historical else historical(work, args.labels, args.hist_reps)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)

    ms = {k: (pct(v, 0.5) * 1000, pct(v, 0.99) * 1000, pct(v, 0.9) * 1000) for k, v in times.items()}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the end: {load} ({os.cpu_count()} cores)")
    print(
        f"online: {args.entities:,} entities x 2 views x 10 features, private redis-server,"
        f" {args.reps:,} calls each (round-robin), redis-py {redis.__version__}"
        f" (hiredis: {redis.utils.HIREDIS_AVAILABLE})"
    )
    print("| measure | p50 ms | p90 ms | p99 ms |\n|---|---:|---:|---:|")
    for name, (p50, p99, p90) in ms.items():
        print(f"| {name} | {p50:.3f} | {p90:.3f} | {p99:.3f} |")
    print(
        f"| HTTP `fsync serve`, 1 entity (service, 2 views), 1 client | {web['p50'] * 1000:.3f} |"
        f" {web['p90'] * 1000:.3f} | {web['p99'] * 1000:.3f} |"
    )
    print(
        f"\nHTTP throughput, 8 concurrent keep-alive clients, {args.http_seconds:.0f} s: {web['rps8']:,.0f}"
        f" requests/s ({web['n8']:,} requests)"
    )
    print(
        f"Redis memory: {memory['per_hash']:.0f} B per hash (MEMORY USAGE, one hash per entity and view of 10"
        f" features); used_memory {memory['used_memory'] / memory['keys']:.0f} B per key overall"
    )
    r1 = ms["SDK 1 entity x 1 view"][1] / ms["raw HMGET, 1 key x 11 fields"][1]
    r100 = ms["SDK 100 entities x 2 views"][1] / ms["raw pipelined HMGET, 100 keys x 2 views"][1]
    log1 = ms["SDK 1 entity x 1 view, logged"][1] / ms["SDK 1 entity x 1 view"][1]
    log100 = ms["SDK 100 entities x 2 views, logged"][1] / ms["SDK 100 entities x 2 views"][1]
    checks = [
        ("SDK 1x1 p99 / raw HMGET p99", r1, "<= 1.5", r1 <= 1.5),
        ("SDK 1x1 p99 (ms)", ms["SDK 1 entity x 1 view"][1], "<= 0.5", ms["SDK 1 entity x 1 view"][1] <= 0.5),
        ("SDK 100x2 p99 / raw pipelined HMGET p99", r100, "<= 1.5", r100 <= 1.5),
        (
            "SDK 100x2 p99 (ms)",
            ms["SDK 100 entities x 2 views"][1],
            "<= 3",
            ms["SDK 100 entities x 2 views"][1] <= 3,
        ),
        ("logged / not logged, 1x1 p99", log1, "<= 1.2", log1 <= 1.2),
        ("logged / not logged, 100x2 p99", log100, "<= 1.2", log100 <= 1.2),
        ("HTTP 1 entity p99, 1 client (ms)", web["p99"] * 1000, "<= 3", web["p99"] * 1000 <= 3),
    ]
    if hist is not None:
        ratio = hist["sdk"] / hist["direct"]
        print(
            f"\nhistorical (demo, training_churn, {args.labels:,} labels): first call {hist['first']:.2f} s"
            f" (dbt compile), second call {hist['sdk']:.3f} s, the same SQL directly in DuckDB"
            f" {hist['direct']:.3f} s; a second call of 500 labels {hist['small_second'] * 1000:.0f} ms"
        )
        checks.append(("historical 2nd call / same SQL in DuckDB (S)", ratio, "<= 1.2", ratio <= 1.2))
    print("\n| check | value | bar | result |\n|---|---:|---|---|")
    for name, value, bar, ok in checks:
        print(f"| {name} | {value:.3f} | {bar} | {'PASS' if ok else 'FAIL'} |")
    return 0 if all(ok for *_, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
