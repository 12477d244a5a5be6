"""Embedded online store: one SQLite file, the same semantics as Redis (expiry against an explicit now)."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import msgpack

from fsync.errors import FsyncError, InfraUnavailable
from fsync.online.stores.base import (
    LOG_MAX_ENTRIES,
    Batch,
    Lease,
    LeaseLost,
    LogEntry,
    OnlineStore,
    RawRow,
    Record,
    ViewRead,
    decode_record,
    pack_meta,
    parse_watermark,
)
from fsync.timeutil import to_us

T = TypeVar("T")

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
create table if not exists fsync_leases (
  view text primary key, token text not null, holder text not null, expires_at real not null
) without rowid;
create table if not exists fsync_generations (view text primary key, generation integer not null)
  without rowid;
"""
_IN_CHUNK = 500  # entities per `in (...)` (SQLite's default limit of host parameters is 32766)


class SQLiteStore(OnlineStore):
    def __init__(self, path: Path, timeout_s: float = 30.0, log_max_entries: int = LOG_MAX_ENTRIES) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.read_only = False
        self._fences: dict[str, str] = {}  # view -> token of the lease this store holds
        self.log_max_entries = log_max_entries
        self._logged = 0
        try:
            if path.exists() and not _writable(path):
                # A read-only file (or directory) still serves reads: `fsync get` on a deployed copy.
                self.read_only = True
                self.con = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro&immutable=1",
                    uri=True,
                    timeout=timeout_s,
                    isolation_level=None,
                )
                self.con.execute("select 1 from fsync_records limit 1").fetchall()
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            self.con = sqlite3.connect(str(path), timeout=timeout_s, isolation_level=None)
            self.con.execute("pragma journal_mode = wal")
            self.con.execute("pragma synchronous = normal")
            self.con.executescript(_SCHEMA)
        except sqlite3.OperationalError as exc:
            raise self._error("open it", exc) from None
        except (sqlite3.Error, OSError) as exc:
            raise InfraUnavailable(f"cannot open the SQLite online store {path}: {_reason(exc)}") from None

    def _run(self, what: str, fn: Callable[[], T]) -> T:
        """An SQLite operation; its expected failures become one-line errors (exit 3)."""
        if self.read_only:
            raise FsyncError(f"the SQLite online store {self.path} is read-only: cannot {what}.")
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            raise self._error(what, exc) from None
        except sqlite3.DatabaseError as exc:
            raise InfraUnavailable(
                f"the SQLite online store {self.path} failed to {what}: {_reason(exc)}."
            ) from None

    def _error(self, what: str, exc: sqlite3.OperationalError) -> InfraUnavailable:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return InfraUnavailable(
                f"the SQLite online store {self.path} is locked by another writer (waited"
                f" {self.timeout_s:g}s to {what}); the watermark was not advanced: retry when it finishes."
            )
        hint = " (is the disk full?)" if "disk" in text or "full" in text else ""
        return InfraUnavailable(
            f"the SQLite online store {self.path} failed to {what}: {_reason(exc)}{hint}; the watermark"
            " was not advanced."
        )

    def _fenced(self, view: str) -> None:
        """Inside a write transaction: raise unless this store still holds the view's lease (if it took
        one)."""
        token = self._fences.get(view)
        if token is None:
            return
        row = self.con.execute("select token from fsync_leases where view = ?", (view,)).fetchone()
        if row is None or row[0] != token:
            raise LeaseLost(
                f"this push lost its lease on {view} in {self.describe()}: it stalled past the lease's"
                " expiry or another push took over; nothing more was written and the watermark was not"
                " advanced: push again."
            )

    def _transaction(self, view: str, what: str, body: Callable[[], T]) -> T:
        def run() -> T:
            self.con.execute("begin immediate")
            try:
                self._fenced(view)
                result = body()
            except BaseException:
                self.con.execute("rollback")
                raise
            self.con.execute("commit")
            return result

        return self._run(what, run)

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
        self._transaction(
            view,
            "write",
            lambda: self.con.executemany(
                "insert or replace into fsync_records values (?, ?, ?, ?, ?, ?)", rows
            ),
        )

    @staticmethod
    def _record(row: tuple[Any, ...], fields: Sequence[str] | None) -> Record | None:
        ts, expires, generation, text = row
        try:
            stored: dict[str, str] = json.loads(text)
        except ValueError:
            stored = {"": "?"}  # decode_record reports the record as not fsync's
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
        return self._transaction(
            view,
            "delete stale entities",
            lambda: (
                self.con.execute(
                    "delete from fsync_records where view = ? and generation <> ?", (view, generation)
                ).rowcount
            ),
        )

    def purge_expired(self, view: str, now: datetime) -> int:
        return self._transaction(
            view,
            "purge expired entities",
            lambda: (
                self.con.execute(
                    "delete from fsync_records where view = ? and expires_at_us < ?", (view, to_us(now))
                ).rowcount
            ),
        )

    def get_watermark(self, view: str) -> dict[str, Any] | None:
        row = self.con.execute("select value from fsync_watermarks where view = ?", (view,)).fetchone()
        return parse_watermark(view, row[0] if row else None, f"the SQLite online store {self.path}")

    def set_watermark(self, view: str, watermark: dict[str, Any]) -> None:
        self._transaction(
            view,
            "write the watermark",
            lambda: self.con.execute(
                "insert or replace into fsync_watermarks values (?, ?)", (view, json.dumps(watermark))
            ),
        )

    # -- leases: rows of fsync_leases, compared against the wall clock ------------------------------------
    def acquire_lease(self, view: str, token: str, holder: dict[str, Any], ttl_s: float) -> Lease | None:
        def take() -> Lease | None:
            self.con.execute("begin immediate")
            try:
                row = self.con.execute(
                    "select token, holder, expires_at from fsync_leases where view = ?", (view,)
                ).fetchone()
                now = time.time()
                if row is not None and row[0] != token and row[2] > now:
                    return Lease(view, row[0], _holder(row[1]), row[2])
                self.con.execute(
                    "insert or replace into fsync_leases values (?, ?, ?, ?)",
                    (view, token, json.dumps(holder, sort_keys=True), now + ttl_s),
                )
                return None
            finally:
                self.con.execute("commit")

        current = self._run("take the lease", take)
        if current is None:
            self._fences[view] = token
        return current

    def renew_lease(self, view: str, token: str, ttl_s: float) -> bool:
        # Called from the heartbeat thread: its own short connection (sqlite3 connections are per thread).
        con = sqlite3.connect(str(self.path), timeout=self.timeout_s, isolation_level=None)
        try:
            cur = con.execute(
                "update fsync_leases set expires_at = ? where view = ? and token = ?",
                (time.time() + ttl_s, view, token),
            )
            return cur.rowcount == 1
        except sqlite3.Error:
            return True  # a busy file: the next beat tries again, and the fence still guards every write
        finally:
            con.close()

    def release_lease(self, view: str, token: str) -> None:
        self._fences.pop(view, None)
        self._run(
            "release the lease",
            lambda: self.con.execute("delete from fsync_leases where view = ? and token = ?", (view, token)),
        )

    def take_over_lease(
        self, view: str, stale: Lease, token: str, holder: dict[str, Any], ttl_s: float
    ) -> bool:
        cur = self._run(
            "take over the lease",
            lambda: self.con.execute(
                "update fsync_leases set token = ?, holder = ?, expires_at = ? where view = ? and token = ?",
                (token, json.dumps(holder, sort_keys=True), time.time() + ttl_s, view, stale.token),
            ),
        )
        if cur.rowcount == 1:
            self._fences[view] = token
        return cur.rowcount == 1

    def next_generation(self, view: str, at_least: int) -> int:
        def allocate() -> int:
            self.con.execute("begin immediate")
            try:
                row = self.con.execute(
                    "select generation from fsync_generations where view = ?", (view,)
                ).fetchone()
                generation = max(row[0] if row else 0, at_least) + 1
                self.con.execute("insert or replace into fsync_generations values (?, ?)", (view, generation))
                return generation
            finally:
                self.con.execute("commit")

        return self._run("allocate a generation", allocate)

    def current_generation(self, view: str) -> int:
        row = self.con.execute("select generation from fsync_generations where view = ?", (view,)).fetchone()
        return int(row[0]) if row else 0

    def describe(self) -> str:
        return f"sqlite:{self.path}"

    def close(self) -> None:
        self.con.close()


def _writable(path: Path) -> bool:
    # WAL needs to create -wal and -shm files next to the database.
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _holder(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
