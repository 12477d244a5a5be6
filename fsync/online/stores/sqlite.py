"""Embedded online store: one SQLite file, the same semantics as Redis (expiry against an explicit now)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from fsync.errors import InfraUnavailable
from fsync.online.stores.base import GENERATION, Batch, OnlineStore
from fsync.timeutil import to_us

_SCHEMA = """
create table if not exists fsync_entities (
  view text not null, entity text not null, fields text not null, expires_at_us integer not null,
  generation integer not null, primary key (view, entity)
) without rowid;
create table if not exists fsync_watermarks (view text primary key, value text not null) without rowid;
"""


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
        rows = []
        for i, entity in enumerate(batch.entities):
            fields = batch.fields(i)
            rows.append(
                (
                    view,
                    entity,
                    json.dumps(fields, separators=(",", ":")),
                    batch.expires_at_us[i],
                    int(fields[GENERATION]),
                )
            )
        # One transaction per batch: every entity is replaced whole, or not at all.
        with self.con:
            self.con.execute("begin")
            self.con.executemany("insert or replace into fsync_entities values (?, ?, ?, ?, ?)", rows)

    def raw(self, view: str, entity: str) -> dict[str, str] | None:
        row = self.con.execute(
            "select fields from fsync_entities where view = ? and entity = ?", (view, entity)
        ).fetchone()
        return json.loads(row[0]) if row else None

    def scan(self, view: str) -> Iterator[tuple[str, dict[str, str]]]:
        for entity, fields in self.con.execute(
            "select entity, fields from fsync_entities where view = ? order by entity", (view,)
        ):
            yield entity, json.loads(fields)

    def delete_stale(self, view: str, generation: int) -> int:
        with self.con:
            self.con.execute("begin")
            cur = self.con.execute(
                "delete from fsync_entities where view = ? and generation <> ?", (view, generation)
            )
        return cur.rowcount

    def purge_expired(self, view: str, now: datetime) -> int:
        with self.con:
            self.con.execute("begin")
            cur = self.con.execute(
                "delete from fsync_entities where view = ? and expires_at_us < ?", (view, to_us(now))
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
