"""Embedded online store: one SQLite file, the same semantics as Redis (expiry against an explicit now)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fsync.errors import InfraUnavailable
from fsync.online.stores.base import Batch, OnlineStore, Record, decode_record, pack_meta
from fsync.timeutil import to_us

# fsync_records holds layout 2 (fsync_entities was layout 1; a file still holding it gets a full push).
_SCHEMA = """
create table if not exists fsync_records (
  view text not null, entity text not null, feature_ts_us integer not null, expires_at_us integer not null,
  generation integer not null, fields text not null, primary key (view, entity)
) without rowid;
create table if not exists fsync_watermarks (view text primary key, value text not null) without rowid;
"""
_IN_CHUNK = 500  # entities per `in (...)` (SQLite's default limit of host parameters is 32766)


class SQLiteStore(OnlineStore):
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.con = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self.con.execute("pragma journal_mode = wal")
            self.con.execute("pragma synchronous = normal")
            self.con.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise InfraUnavailable(f"cannot open the SQLite online store {path}: {exc}") from None

    def write(self, view: str, batch: Batch, expire_offset_ms: int = 0) -> None:
        names = batch.names
        rows = []
        for i, entity in enumerate(batch.entities):
            fields = {name: column[i] for name, column in zip(names, batch.columns, strict=True)}
            rows.append(
                (
                    view,
                    entity,
                    batch.feature_ts_us[i],
                    batch.expires_at_us[i],
                    batch.generation,
                    json.dumps(fields, separators=(",", ":")),
                )
            )
        # One transaction per batch: every entity is replaced whole, or not at all.
        with self.con:
            self.con.execute("begin")
            self.con.executemany("insert or replace into fsync_records values (?, ?, ?, ?, ?, ?)", rows)

    @staticmethod
    def _record(row: tuple[Any, ...], fields: Sequence[str] | None) -> Record | None:
        ts, expires, generation, text = row
        stored: dict[str, str] = json.loads(text)
        chosen = stored if fields is None else {f: stored[f] for f in fields if f in stored}
        return decode_record(pack_meta(ts, expires, generation), dict(chosen))

    def read(
        self, view: str, entities: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Record | None]:
        found: dict[str, Record | None] = {}
        unique = list(dict.fromkeys(entities))
        for i in range(0, len(unique), _IN_CHUNK):
            chunk = unique[i : i + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            for entity, *row in self.con.execute(
                "select entity, feature_ts_us, expires_at_us, generation, fields from fsync_records"
                f" where view = ? and entity in ({marks})",
                [view, *chunk],
            ):
                found[entity] = self._record(tuple(row), fields)
        return [found.get(e) for e in entities]

    def scan(self, view: str) -> Iterator[tuple[str, Record]]:
        for entity, *row in self.con.execute(
            "select entity, feature_ts_us, expires_at_us, generation, fields from fsync_records"
            " where view = ? order by entity",
            (view,),
        ):
            record = self._record(tuple(row), None)
            assert record is not None
            yield entity, record

    def delete_stale(self, view: str, generation: int) -> int:
        with self.con:
            self.con.execute("begin")
            cur = self.con.execute(
                "delete from fsync_records where view = ? and generation <> ?", (view, generation)
            )
        return cur.rowcount

    def purge_expired(self, view: str, now: datetime) -> int:
        with self.con:
            self.con.execute("begin")
            cur = self.con.execute(
                "delete from fsync_records where view = ? and expires_at_us < ?", (view, to_us(now))
            )
        return cur.rowcount

    def get_watermark(self, view: str) -> dict[str, Any] | None:
        row = self.con.execute("select value from fsync_watermarks where view = ?", (view,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_watermark(self, view: str, watermark: dict[str, Any]) -> None:
        with self.con:
            self.con.execute("begin")
            self.con.execute(
                "insert or replace into fsync_watermarks values (?, ?)", (view, json.dumps(watermark))
            )

    def describe(self) -> str:
        return f"sqlite:{self.path}"

    def close(self) -> None:
        self.con.close()
