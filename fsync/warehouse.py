"""Warehouse readers (DuckDB, PostgreSQL) and the SQL that finds each entity's latest row.

The latest row of an entity at `as_of` is the same row the point-in-time join picks at label_ts = as_of:
greatest feature_ts <= as_of, then greatest created_ts (NULL lowest); it is served only while
feature_ts >= as_of - ttl.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from fsync.artifacts import FeatureView
from fsync.errors import FsyncError, InfraUnavailable


class Reader(Protocol):
    param: str

    def columns(self, schema: str, table: str) -> dict[str, str]: ...
    def one(self, sql: str, params: list[Any]) -> tuple[Any, ...] | None: ...
    def stream(self, sql: str, params: list[Any], batch_size: int) -> Iterator[list[tuple[Any, ...]]]: ...
    def close(self) -> None: ...


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class Window:
    """Rows a push reads: visible at `as_of`, alive since `alive_from`; incremental when `since_ts` set."""

    as_of: datetime
    alive_from: datetime
    since_ts: datetime | None = None
    since_created: datetime | None = None


class LatestRowsQuery:
    """SQL for one view; `p` is the reader's placeholder (`?` or `%s`)."""

    def __init__(self, view: FeatureView, feature_columns: list[str], p: str) -> None:
        self.view, self.p = view, p
        self.rel = f"{quote(view.schema)}.{quote(view.alias)}"
        self.keys = [quote(k) for k in view.entity_keys]
        self.ts = quote(view.timestamp)
        self.created = quote(view.created_timestamp) if view.created_timestamp else None
        self.features = [quote(c) for c in feature_columns]
        order = f"{self.ts} desc" + (f", {self.created} desc nulls last" if self.created else "")
        self.over = f"over (partition by {', '.join(self.keys)} order by {order})"

    def _base(self, w: Window, columns: list[str]) -> tuple[str, list[Any]]:
        p = self.p
        sql = f"select {', '.join(columns)} from {self.rel} where {self.ts} is not null and {self.ts} <= {p}"
        params: list[Any] = [w.as_of]
        if w.since_ts is not None:
            # Incremental: only entities with a row that is new or corrected since the watermark (a superset
            # of
            # the entities whose latest row changed; rewriting an unchanged entity is harmless).
            changed = f"{self.ts} > {p}"
            params2: list[Any] = [w.as_of, w.since_ts]
            if self.created and w.since_created is not None:
                changed = f"({changed} or {self.created} > {p})"
                params2.append(w.since_created)
            key_tuple = self.keys[0] if len(self.keys) == 1 else f"({', '.join(self.keys)})"
            sql += (
                f" and {key_tuple} in (select {', '.join(self.keys)} from {self.rel}"
                f" where {self.ts} <= {p} and {changed})"
            )
            params += params2
        return sql, params

    def preflight(self, w: Window) -> tuple[str, list[Any]]:
        """One row: rows to push, entities with an ambiguous latest row, max created_ts, NULL-key rows."""
        cols = self.keys + [self.ts] + ([self.created] if self.created else [])
        base, params = self._base(w, cols)
        created_max = f"max({self.created})" if self.created else "cast(null as timestamp)"
        null_keys = " or ".join(f"{k} is null" for k in self.keys)
        sql = (
            f"select count(*) filter (where _rn = 1 and {self.ts} >= {self.p}),"
            f" count(*) filter (where _rk = 1) - count(*) filter (where _rn = 1), {created_max},"
            f" (select count(*) from {self.rel} where {null_keys})"
            f" from (select *, row_number() {self.over} as _rn, rank() {self.over} as _rk"
            f" from ({base}) as _b) as _r"
        )
        return sql, [w.alive_from] + params

    def duplicate_example(self, w: Window) -> tuple[str, list[Any]]:
        cols = self.keys + [self.ts] + ([self.created] if self.created else [])
        base, params = self._base(w, cols)
        sql = (
            f"select {', '.join(cols)} from (select *, rank() {self.over} as _rk from ({base}) as _b) as _r"
            f" where _rk = 1 group by {', '.join(cols)} having count(*) > 1 limit 1"
        )
        return sql, params

    def null_key_example(self) -> tuple[str, list[Any]]:
        cond = " or ".join(f"{k} is null" for k in self.keys)
        return f"select {', '.join(self.keys + [self.ts])} from {self.rel} where {cond} limit 1", []

    def latest_rows(self, w: Window) -> tuple[str, list[Any]]:
        """keys..., ts, features... of each entity's latest row alive at as_of."""
        cols = self.keys + [self.ts] + ([self.created] if self.created else []) + self.features
        base, params = self._base(w, cols)
        out = self.keys + [self.ts] + self.features
        sql = (
            f"select {', '.join(out)} from (select *, row_number() {self.over} as _rn"
            f" from ({base}) as _b) as _r"
            f" where _rn = 1 and {self.ts} >= {self.p}"
        )
        return sql, params + [w.alive_from]


class DuckDBReader:
    param = "?"

    def __init__(self, path: Path, memory_limit: str | None = None) -> None:
        self.con = open_duckdb(path)
        self.con.execute("set TimeZone = 'UTC'")
        # One thread: the push is a stream, and the second core is the online store's (Redis) while it writes.
        self.con.execute("set threads = 1")
        self.con.execute("set preserve_insertion_order = false")
        if memory_limit:
            self.con.execute(f"set memory_limit = '{memory_limit}'")

    def columns(self, schema: str, table: str) -> dict[str, str]:
        rows = self.con.execute(  # duckdb_columns(): several times faster than information_schema
            "select column_name, data_type from duckdb_columns()"
            " where schema_name = ? and table_name = ? order by column_index",
            [schema, table],
        ).fetchall()
        return {name: dtype for name, dtype in rows}

    def one(self, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
        return self.con.execute(sql, params).fetchone()

    def stream(self, sql: str, params: list[Any], batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
        cur = self.con.cursor()
        try:
            cur.execute(sql, params)
            while rows := cur.fetchmany(batch_size):
                yield rows
        finally:
            cur.close()

    def close(self) -> None:
        self.con.close()


class PostgresReader:
    param = "%s"

    def __init__(self, dsn: str) -> None:
        self.con = open_postgres(dsn)
        self.con.set_session(readonly=True)
        self._n = 0

    def columns(self, schema: str, table: str) -> dict[str, str]:
        with self.con.cursor() as cur:
            cur.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = %s and table_name = %s order by ordinal_position",
                [schema, table],
            )
            return {name: dtype for name, dtype in cur.fetchall()}

    def one(self, sql: str, params: list[Any]) -> tuple[Any, ...] | None:
        with self.con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()

    def stream(self, sql: str, params: list[Any], batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
        self._n += 1
        with self.con.cursor(name=f"fsync_stream_{self._n}") as cur:  # server-side: memory stays flat
            cur.itersize = batch_size
            cur.execute(sql, params)
            while rows := cur.fetchmany(batch_size):
                yield rows

    def close(self) -> None:
        self.con.close()


def open_duckdb(path: Path) -> Any:
    """A read-only connection to the warehouse file; a missing file is a user error, a lock an outage."""
    import duckdb

    if not path.exists():
        raise FsyncError(
            f"DuckDB warehouse file {path} does not exist; run `dbt build` or set FSYNC_DUCKDB_PATH."
        )
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise InfraUnavailable(
                f"DuckDB file {path} is locked by another process (is `dbt` running?);"
                " retry when it finishes."
            ) from None
        raise InfraUnavailable(f"cannot open DuckDB file {path}: {exc}") from None


def open_postgres(dsn: str) -> Any:
    """A connection in UTC; an unreachable server is an outage, reported without the password."""
    import psycopg2

    try:
        return psycopg2.connect(dsn, connect_timeout=10, options="-c TimeZone=UTC")
    except psycopg2.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection failed"
        raise InfraUnavailable(f"PostgreSQL is unavailable ({redact_dsn(dsn)}): {first}") from None


def redact_dsn(dsn: str) -> str:
    dsn = re.sub(r"(password\s*=\s*)(\S+)", r"\1***", dsn)
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", dsn)
