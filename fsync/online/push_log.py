"""The push log: when each pushed record became servable, so a training set can reproduce what was served.

After a push of a view has written (and confirmed) every batch, and before its watermark moves, one entry per
chunk of entities is appended: view, version, store id, relation, generation, mode, as_of, completed_at (the
wall clock), available_at and, per entity, the feature_ts written. `available_at` is on the push's own time
line: as_of plus the push's elapsed wall time until every write was confirmed (for a live push, its wall-clock
end; for `--as-of T` in the past, T plus how long it took) - an upper bound of when each batch became
servable. Enabled by the setting `push_log = true` (FSYNC_PUSH_LOG); exported by
`fsync logs export --push-log` (fsync.monitoring.push_log) and read back by point_in_time_join's
`available_at` (docs/availability.md).

Storage, next to the served-value log and with the store's own naming: Redis stream `<prefix>:__pushlog`,
SQLite table `fsync_push_log`. The entries stay until exported (the export trims them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgpack

from fsync.errors import FsyncError
from fsync.manifest import FeatureViewSpec
from fsync.online.stores.base import LogEntry, OnlineStore
from fsync.timeutil import from_us, to_us

CHUNK = 10_000  # entities per entry


@dataclass(frozen=True)
class PushRecord:
    """One entity of one push, as exported."""

    view: str
    version: int | None
    relation: str  # the view's relation name (its alias): what point_in_time_join matches on
    generation: int
    mode: str
    as_of: datetime
    completed_at: datetime
    available_at: datetime
    entity_key: str
    feature_ts: datetime


def _key(store: Any) -> str:
    return str(store.meta_key("__pushlog"))  # hash-tagged with the other bookkeeping on a cluster


def _sqlite_table(con: sqlite3.Connection) -> None:
    con.execute(
        "create table if not exists fsync_push_log"
        " (id integer primary key autoincrement, entry blob not null)"
    )


def append(
    store: OnlineStore,
    view: FeatureViewSpec,
    generation: int,
    mode: str,
    as_of: datetime,
    completed_at: datetime,
    available_at: datetime,
    entities: Sequence[str],
    feature_ts_us: Sequence[int],
) -> None:
    """Append the push's entities (in chunks) to the store's push log."""
    header = {
        "view": view.name,
        "version": view.version,
        "relation": view.alias,
        "generation": generation,
        "mode": mode,
        "as_of_us": to_us(as_of),
        "completed_at_us": to_us(completed_at),
        "available_at_us": to_us(available_at),
    }
    chunks = (
        [
            msgpack.packb(
                {
                    **header,
                    "entities": list(entities[i : i + CHUNK]),
                    "ts": list(feature_ts_us[i : i + CHUNK]),
                }
            )
            for i in range(0, max(len(entities), 1), CHUNK)
        ]
        if entities
        else []
    )
    if not chunks:
        return
    from fsync.online.stores.redis import RedisStore
    from fsync.online.stores.sqlite import SQLiteStore

    if isinstance(store, RedisStore):
        key = _key(store)

        def add() -> None:
            pipe = store.r.pipeline(transaction=True)
            for c in chunks:
                pipe.xadd(key, {"e": c})
            pipe.execute()

        store._call("append to the push log", add)
    elif isinstance(store, SQLiteStore):
        con = store.con

        def insert() -> None:
            _sqlite_table(con)
            with con:
                con.executemany("insert into fsync_push_log (entry) values (?)", [(c,) for c in chunks])

        store._run("append to the push log", insert)
    else:
        raise FsyncError(f"the push log is not supported by {store.describe()}.")


def entries(store: OnlineStore, after: str | None, limit: int) -> list[LogEntry]:
    """Up to `limit` push-log entries with an id greater than `after`, oldest first (`rows`: the entry)."""
    from fsync.online.stores.base import log_id_key
    from fsync.online.stores.redis import RedisStore
    from fsync.online.stores.sqlite import SQLiteStore

    if isinstance(store, RedisStore):
        start = "-" if after is None else f"({after}"
        got = store._call(
            "read the push log", lambda: store._binary().xrange(_key(store), start, "+", count=limit)
        )
        return [LogEntry(i.decode() if isinstance(i, bytes) else i, b"", f[b"e"]) for i, f in got]
    if isinstance(store, SQLiteStore):
        low = log_id_key(after)[0] if after else 0

        def select() -> list[tuple[int, bytes]]:
            _sqlite_table(store.con)
            return store.con.execute(
                "select id, entry from fsync_push_log where id > ? order by id limit ?", (low, limit)
            ).fetchall()

        return [LogEntry(f"{i}-0", b"", bytes(e)) for i, e in store._run("read the push log", select)]
    raise FsyncError(f"the push log is not supported by {store.describe()}.")


def trim(store: OnlineStore, upto: str) -> int:
    """Drop the push-log entries up to `upto` (inclusive), once exported durably."""
    from fsync.online.stores.base import log_id_key
    from fsync.online.stores.redis import RedisStore
    from fsync.online.stores.sqlite import SQLiteStore

    if isinstance(store, RedisStore):
        ms, seq = log_id_key(upto)
        minid = f"{ms}-{seq + 1}"
        return int(
            store._call(
                "trim the push log", lambda: store.r.xtrim(_key(store), minid=minid, approximate=False)
            )
        )
    if isinstance(store, SQLiteStore):

        def delete() -> int:
            _sqlite_table(store.con)
            with store.con:
                return store.con.execute(
                    "delete from fsync_push_log where id <= ?", (log_id_key(upto)[0],)
                ).rowcount

        return int(store._run("trim the push log", delete))
    raise FsyncError(f"the push log is not supported by {store.describe()}.")


def decode(entry: LogEntry) -> list[PushRecord]:
    e = msgpack.unpackb(entry.rows)
    common = (
        e["view"],
        e["version"],
        e["relation"],
        int(e["generation"]),
        e["mode"],
        from_us(e["as_of_us"]),
        from_us(e["completed_at_us"]),
        from_us(e["available_at_us"]),
    )
    return [PushRecord(*common, k, from_us(ts)) for k, ts in zip(e["entities"], e["ts"], strict=True)]
