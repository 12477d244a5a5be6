"""Online stores: one interface (base.OnlineStore), two implementations (Redis, an embedded SQLite file), one
shared contract test suite (tests/python/fsync/test_stores.py)."""

from __future__ import annotations

from fsync.online.stores.base import Batch, OnlineStore
from fsync.settings import Settings


def open_store(settings: Settings) -> OnlineStore:
    """The online store the settings name (Redis is pinged: an unreachable server is exit 3)."""
    if settings.store == "redis":
        from fsync.online.stores.redis import RedisStore
        from fsync.online.stores.redis_cluster import RedisClusterStore

        kind = RedisClusterStore if settings.redis_cluster else RedisStore
        store = kind(
            settings.redis_url,
            prefix=settings.key_prefix,
            retries=settings.retries,
            backoff_s=settings.retry_backoff,
            log_max_entries=settings.log_max_entries,
        )
        store.ping()
        return store
    from fsync.online.stores.sqlite import SQLiteStore

    return SQLiteStore(
        settings.path(settings.sqlite_path),
        timeout_s=settings.sqlite_timeout,
        log_max_entries=settings.log_max_entries,
    )


__all__ = ["Batch", "OnlineStore", "open_store"]
