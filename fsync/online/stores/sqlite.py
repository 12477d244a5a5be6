"""Embedded online store: one SQLite file, the same semantics as Redis (expiry against an explicit now)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import msgpack

from fsync.errors import InfraUnavailable
from fsync.online.stores.base import (
    LOG_MAX_ENTRIES,
    Batch,
    LogEntry,
    OnlineStore,
    RawRow,
    Record,
    ViewRead,
    decode_record,
    pack_meta,
)
from fsync.timeutil import to_us

# fsync_records holds layout 2 (fsync_entities was layout 1; a file still holding it gets a full push).
_SCHEMA = """
create table if not exists fsync_records (
  view text not null, entity text not null, feature_ts_us integer not null, expires_at_us integer not null,
  generation integer not null, fields text not null, primary key (view, entity)
) without rowid;
create table if not exists fsync_watermarks (view text primary key, value text not null) without rowid;
create table if not exists fsync_served_log (
  id integer primary key autoincrement, header blob not null, rows blob not null
);
"""
_IN_CHUNK = 500  # entities per `in (...)` (SQLite's default limit of host parameters is 32766)


class SQLiteStore(OnlineStore):
    def __init__(self, path: Path, log_max_entries: int = LOG_MAX_ENTRIES) -> None:
        self.path = path
        self.log_max_entries = log_max_entries
        self._logged = 0
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

    # -- the read path of serving ------------------------------------------------------------------
    def read_many(self, reads: Sequence[ViewRead], log: bytes | None = None) -> list[list[RawRow]]:
        out: list[list[RawRow]] = []
        try:
            for r in reads:
                found: dict[str, RawRow] = {}
                unique = list(dict.fromkeys(r.entities))
                for i in range(0, len(unique), _IN_CHUNK):
                    chunk = unique[i : i + _IN_CHUNK]
                    marks = ", ".join("?" * len(chunk))
                    for entity, ts, expires, generation, text in self.con.execute(
                        "select entity, feature_ts_us, expires_at_us, generation, fields from fsync_records"
                        f" where view = ? and entity in ({marks})",
                        [r.view, *chunk],
                    ):
                        stored = json.loads(text)
                        meta = pack_meta(ts, expires, generation)
                        found[entity] = [stored.get(f) for f in r.fields] + [meta]
                absent: RawRow = [None] * (len(r.fields) + 1)
                out.append([found.get(e, absent) for e in r.entities])
            if log is not None:
                self._append_log(log, out)
        except sqlite3.Error as exc:
            raise InfraUnavailable(f"the SQLite online store {self.path} failed a read: {exc}") from None
        return out

    def _append_log(self, header: bytes, rows: list[list[RawRow]]) -> None:
        with self.con:
            self.con.execute("begin")
            cur = self.con.execute(
                "insert into fsync_served_log (header, rows) values (?, ?)", (header, msgpack.packb(rows))
            )
            self._logged += 1
            if self._logged % 1000 == 0 and cur.lastrowid is not None:  # keep the log bounded
                self.con.execute(
                    "delete from fsync_served_log where id <= ?", (cur.lastrowid - self.log_max_entries,)
                )

    def log_entries(self, after: str | None, limit: int) -> list[LogEntry]:
        start = int(after.partition("-")[0]) if after else 0
        rows = self.con.execute(
            "select id, header, rows from fsync_served_log where id > ? order by id limit ?", (start, limit)
        ).fetchall()
        return [LogEntry(f"{i}-0", bytes(h), bytes(r)) for i, h, r in rows]

    def log_trim(self, upto: str) -> int:
        with self.con:
            self.con.execute("begin")
            last = int(upto.partition("-")[0])
            cur = self.con.execute("delete from fsync_served_log where id <= ?", (last,))
        return cur.rowcount

    def log_length(self) -> int:
        return int(self.con.execute("select count(*) from fsync_served_log").fetchone()[0])

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
