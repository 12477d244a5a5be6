"""FSYNC_* settings that select a fresh online store of a kind, and the store they select."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from fsync.online.stores.base import OnlineStore
from fsync.online.stores.redis import RedisStore
from fsync.online.stores.redis_cluster import RedisClusterStore
from fsync.online.stores.sqlite import SQLiteStore


def store_settings(kind: str, redis_url: str, tmp_path: Path, prefix: str = "fsync") -> dict[str, str]:
    """FSYNC_* environment selecting a fresh store of this kind (redis-cluster: `redis_url` names a node)."""
    if kind in ("redis", "redis-cluster"):
        return {
            "FSYNC_STORE": "redis",
            "FSYNC_REDIS_URL": redis_url,
            "FSYNC_KEY_PREFIX": f"{prefix}{uuid.uuid4().hex[:8]}",
            "FSYNC_REDIS_CLUSTER": "true" if kind == "redis-cluster" else "false",
        }
    return {"FSYNC_STORE": "sqlite", "FSYNC_SQLITE_PATH": str(tmp_path / f"{prefix}.sqlite")}


def open_store_from_env(env: dict[str, str]) -> OnlineStore:
    if env["FSYNC_STORE"] == "redis":
        kind = RedisClusterStore if env.get("FSYNC_REDIS_CLUSTER") == "true" else RedisStore
        return kind(env["FSYNC_REDIS_URL"], prefix=env["FSYNC_KEY_PREFIX"])
    return SQLiteStore(Path(env["FSYNC_SQLITE_PATH"]))


def served(store: OnlineStore, view: str, now: datetime) -> dict[str, tuple[object, ...]]:
    """What the store serves for a view at `now`, key by key: (feature_ts, expiry, values). The generation is
    left out: it is bookkeeping, different for every full push (retries included)."""
    return {e: (r.feature_ts, r.expires_at_us, r.values) for e, r in store.snapshot(view, now).items()}


def served_from_env(env: dict[str, str], view: str, now: datetime) -> dict[str, tuple[object, ...]]:
    """`served` by the store the FSYNC_* environment selects, leaving out entities that expire within minutes
    of `now` (Redis drops them on its own wall clock)."""
    store = open_store_from_env(env)
    try:
        return served(store, view, now + timedelta(minutes=10))
    finally:
        store.close()


def project_env(
    project: Path, duckdb_path: Path, store_env: dict[str, str], batch_size: int
) -> dict[str, str]:
    """FSYNC_* environment of a push from a synthetic project (target/ under `project`) and a DuckDB file."""
    return {
        **store_env,
        "FSYNC_PROJECT_DIR": str(project),
        "FSYNC_DUCKDB_PATH": str(duckdb_path),
        "FSYNC_TARGET_PATH": "target",
        "FSYNC_BATCH_SIZE": str(batch_size),
    }
