"""Open the warehouse reader and the online store that the settings name (no CLI here)."""

from __future__ import annotations

from fsync.artifacts import Registry
from fsync.config import Settings
from fsync.errors import FsyncError
from fsync.stores.base import OnlineStore
from fsync.timeutil import parse_duration
from fsync.warehouse import DuckDBReader, PostgresReader, Reader


def open_reader(settings: Settings, registry: Registry) -> Reader:
    kind = settings.warehouse or registry.adapter_type
    if kind == "duckdb":
        return DuckDBReader(settings.path(settings.duckdb_path), settings.duckdb_memory_limit or None)
    if kind == "postgres":
        return PostgresReader(settings.postgres_dsn)
    raise FsyncError(f"warehouse {kind!r} is not supported; fsync reads duckdb or postgres.")


def open_store(settings: Settings) -> OnlineStore:
    if settings.store == "redis":
        from fsync.stores.redis_store import RedisStore

        store = RedisStore(
            settings.redis_url,
            prefix=settings.key_prefix,
            retries=settings.retries,
            backoff_s=settings.retry_backoff,
        )
        store.ping()
        return store
    from fsync.stores.sqlite_store import SQLiteStore

    return SQLiteStore(settings.path(settings.sqlite_path))


def lookback_seconds(settings: Settings) -> int:
    return parse_duration(settings.lookback, "setting lookback")
