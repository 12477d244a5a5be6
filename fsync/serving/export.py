"""`fsync logs export`: drain the served-value log into Parquet files and/or a warehouse table, exactly once.

The log's entry ids (Redis stream ids, SQLite row ids) are the watermark, and each destination keeps its own
watermark durably *with* the data, so a crash anywhere (SIGKILL included) neither loses nor repeats a record:

- Parquet (`--out DIR`): one file per batch, `served_<first id>_<last id>.parquet`, written to a temporary
  name, fsync'ed and renamed; the watermark is the greatest last id among the files. A file is either whole
  or absent, and the next run continues after the last whole file.
- Warehouse (`--to-warehouse`): one transaction per batch inserts the rows and moves the watermark row of
  `fsync_log_exports` (DuckDB, or PostgreSQL).

Only after every destination of the run holds a batch durably is the log trimmed up to it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsync.errors import FsyncError, InfraUnavailable
from fsync.jsonvalue import dumps
from fsync.online.served_log import ServedRow, decode_entry
from fsync.online.stores.base import OnlineStore, log_id_key
from fsync.warehouse import Warehouse, quote

DEFAULT_TABLE = "fsync_served_values"
_FILE = re.compile(r"served_(\d+-\d+)_(\d+-\d+)\.parquet")
COLUMNS = (
    ("log_id", "varchar"),
    ("request_id", "varchar"),
    ("served_at", "timestamp"),
    ("served_now", "timestamp"),
    ("service", "varchar"),
    ("view", "varchar"),
    ("version", "integer"),
    ("entity_key", "varchar"),
    ("status", "varchar"),
    ("feature_ts", "timestamp"),
    ("feature_values", "varchar"),
)


@dataclass(frozen=True)
class ExportTables:
    """Where an export writes in the warehouse: its table and the shared watermark table, both quoted, and the
    statements that create them (and their schema)."""

    qualified: str
    marks: str
    create: list[str]


def export_tables(table: str, option: str, columns: tuple[tuple[str, str], ...]) -> ExportTables:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", table):
        raise FsyncError(f"{option} {table!r}: write NAME or SCHEMA.NAME (letters, digits, underscores).")
    schema, _, name = table.rpartition(".")
    in_schema = f"{quote(schema)}." if schema else ""
    qualified, marks = in_schema + quote(name), in_schema + quote("fsync_log_exports")
    create = [
        f"create table if not exists {qualified} ({', '.join(f'{quote(n)} {t}' for n, t in columns)})",
        f"create table if not exists {marks} (destination varchar primary key, last_id varchar not null)",
    ]
    if schema:
        create.insert(0, f"create schema if not exists {quote(schema)}")
    return ExportTables(qualified, marks, create)


def create_export_tables(con: Any, kind: str, tables: ExportTables) -> None:
    if kind == "duckdb":  # one writer per DuckDB file: no race
        for sql in tables.create:
            con.execute(sql)
        return
    with con.cursor() as cur:
        # Two exports at once both run `create ... if not exists`; PostgreSQL raises a unique violation on the
        # catalog for the second unless they are serialized.
        cur.execute("select pg_advisory_xact_lock(hashtext('fsync_log_exports'))")
        for sql in tables.create:
            cur.execute(sql)
    con.commit()


def open_writable(warehouse: Warehouse) -> Any:
    """A read-write connection to the warehouse (DuckDB or PostgreSQL); exit 3 while dbt holds DuckDB."""
    if warehouse.kind == "duckdb":
        import duckdb

        assert warehouse.duckdb_path is not None
        try:
            return duckdb.connect(str(warehouse.duckdb_path))
        except duckdb.IOException as exc:
            raise InfraUnavailable(
                f"cannot open the DuckDB warehouse {warehouse.duckdb_path} for writing (is dbt running?):"
                f" {exc}"
            ) from None
    from fsync.warehouse import open_postgres

    return open_postgres(warehouse.postgres_dsn or "")


def claim_batch(cur: Any, marks: str, destination: str, last: str) -> Callable[[str], bool] | None:
    """PostgreSQL, inside the batch's transaction: serialize the exporters of `destination` (a
    transaction-scoped advisory lock) and re-read its watermark, so two `fsync logs export` runs at once never
    insert a record twice. None when the batch is already held (up to `last`), else which ids to insert."""
    cur.execute("select pg_advisory_xact_lock(hashtext(%s))", [destination])
    cur.execute(f"select last_id from {marks} where destination = %s", [destination])
    row = cur.fetchone()
    held = log_id_key(str(row[0])) if row else None
    if held is not None and held >= log_id_key(last):
        return None
    return lambda log_id: held is None or log_id_key(log_id) > held


def _arrow_schema() -> Any:
    import pyarrow as pa

    types = {"varchar": pa.string(), "timestamp": pa.timestamp("us"), "integer": pa.int32()}
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS])


def _table(rows: list[ServedRow]) -> Any:
    import pyarrow as pa

    columns = {
        "log_id": [r.log_id for r in rows],
        "request_id": [r.request_id for r in rows],
        "served_at": [r.served_at for r in rows],
        "served_now": [r.now for r in rows],
        "service": [r.service for r in rows],
        "view": [r.view for r in rows],
        "version": [r.version for r in rows],
        "entity_key": [r.entity_key for r in rows],
        "status": [r.status for r in rows],
        "feature_ts": [r.feature_ts for r in rows],
        "feature_values": [dumps(r.values) for r in rows],
    }
    return pa.table(columns, schema=_arrow_schema())


class Destination:
    name: str

    def watermark(self) -> str | None:
        raise NotImplementedError

    def write(self, first: str, last: str, rows: list[ServedRow]) -> None:
        """Write the rows of entries first..last and move the watermark to `last`, atomically."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class ParquetDestination(Destination):
    def __init__(self, directory: Path) -> None:
        self.name = f"parquet:{directory}"
        self.directory = directory
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FsyncError(f"--out {directory}: cannot create the directory ({exc.strerror}).") from None
        for stale in directory.glob(".tmp-served-*"):  # a file a killed export did not finish
            stale.unlink(missing_ok=True)

    def files(self) -> list[tuple[str, str, Path]]:
        found = []
        for path in self.directory.iterdir():
            m = _FILE.fullmatch(path.name)
            if m:
                found.append((m.group(1), m.group(2), path))
        return sorted(found, key=lambda f: log_id_key(f[0]))

    def watermark(self) -> str | None:
        files = self.files()
        return max((f[1] for f in files), key=log_id_key) if files else None

    def write(self, first: str, last: str, rows: list[ServedRow]) -> None:
        import pyarrow.parquet as pq

        final = self.directory / f"served_{first}_{last}.parquet"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-served-")
        os.close(fd)
        try:
            pq.write_table(_table(rows), tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself is durable
        finally:
            os.close(dir_fd)


class WarehouseDestination(Destination):
    """A table of the warehouse (DuckDB or PostgreSQL), with its watermark in `fsync_log_exports`."""

    def __init__(self, warehouse: Warehouse, table: str) -> None:
        tables = export_tables(table, "--table", COLUMNS)
        self.kind = warehouse.kind
        self.table = table
        self.name = f"warehouse:{table}"
        self.qualified, self.marks = tables.qualified, tables.marks
        self.con: Any = open_writable(warehouse)
        create_export_tables(self.con, self.kind, tables)

    def watermark(self) -> str | None:
        sql = f"select last_id from {self.marks} where destination = {'?' if self.kind == 'duckdb' else '%s'}"
        if self.kind == "duckdb":
            found = self.con.execute(sql, [self.table]).fetchall()
            row = found[0] if found else None
        else:
            with self.con.cursor() as cur:
                cur.execute(sql, [self.table])
                row = cur.fetchone()
        return str(row[0]) if row else None

    def write(self, first: str, last: str, rows: list[ServedRow]) -> None:
        upsert = (
            f"insert into {self.marks} values ({{p}}, {{p}}) on conflict (destination)"
            " do update set last_id = excluded.last_id"
        )
        if self.kind == "duckdb":
            self.con.register("_fsync_batch", _table(rows))
            self.con.execute("begin")
            try:
                self.con.execute(f"insert into {self.qualified} select * from _fsync_batch")
                self.con.execute(upsert.format(p="?"), [self.table, last])
                self.con.execute("commit")
            except BaseException:
                self.con.execute("rollback")
                raise
            finally:
                self.con.unregister("_fsync_batch")
            return
        from psycopg2.extras import execute_values

        names = [n for n, _ in COLUMNS]
        with self.con.cursor() as cur:
            is_new = claim_batch(cur, self.marks, self.table, last)
            if is_new is None:
                self.con.commit()
                return
            table = [r for r in _table(rows).to_pylist() if is_new(r["log_id"])]
            execute_values(
                cur,
                f"insert into {self.qualified} ({', '.join(quote(n) for n in names)}) values %s",
                [tuple(r[n] for n in names) for r in table],
                page_size=1000,
            )
            cur.execute(upsert.format(p="%s"), [self.table, last])
        self.con.commit()

    def close(self) -> None:
        self.con.close()


@dataclass
class ExportSummary:
    destinations: list[str]
    entries: int = 0
    rows: int = 0
    batches: int = 0
    trimmed: int = 0
    watermark: str | None = None
    remaining: int = 0
    per_destination: dict[str, str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "destinations": self.destinations,
            "entries": self.entries,
            "rows": self.rows,
            "batches": self.batches,
            "trimmed": self.trimmed,
            "watermark": self.watermark,
            "remaining": self.remaining,
        }


def export(
    store: OnlineStore,
    destinations: list[Destination],
    batch_size: int = 5000,
    progress: Callable[[ExportSummary], None] | None = None,
) -> ExportSummary:
    """Drain the log into every destination (each from its own watermark), then trim what all of them hold."""
    if not destinations:
        raise FsyncError("nothing to export to: give --out DIR and/or --to-warehouse.")
    if batch_size <= 0:
        raise FsyncError(f"--batch-size must be positive, got {batch_size}.")
    summary = ExportSummary([d.name for d in destinations])
    marks = {d.name: d.watermark() for d in destinations}
    for d in destinations:
        entries_done = rows_done = 0
        while True:
            entries = store.log_entries(marks[d.name], batch_size)
            if not entries:
                break
            rows = [row for e in entries for row in decode_entry(e)]
            d.write(entries[0].id, entries[-1].id, rows)
            marks[d.name] = entries[-1].id
            summary.batches += 1
            entries_done += len(entries)
            rows_done += len(rows)
            if progress:
                progress(summary)
        summary.entries = max(summary.entries, entries_done)
        summary.rows = max(summary.rows, rows_done)
    held = list(marks.values())
    if all(m is not None for m in held):
        low = min((m for m in held if m is not None), key=log_id_key)
        summary.trimmed = store.log_trim(low)
        summary.watermark = low
    summary.per_destination = marks
    summary.remaining = store.log_length()
    return summary


def read_parquet(directory: Path) -> list[dict[str, Any]]:
    """Every exported row of a directory, oldest first (for tests and quick looks)."""
    import pyarrow.parquet as pq

    out: list[dict[str, Any]] = []
    for _, _, path in ParquetDestination(directory).files():
        out.extend(pq.read_table(path).to_pylist())
    for row in out:
        row["feature_values"] = json.loads(row["feature_values"])
    return out
