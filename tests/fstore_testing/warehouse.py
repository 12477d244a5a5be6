"""Load and read tables in the test's DuckDB file or PostgreSQL schema with the engines' own clients."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from fstore_testing.dbt import PgSettings

NULL = r"\N"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # spelled the same on both engines: integer, timestamp, numeric(p,s), float8, varchar


def _csv_value(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float):
        return repr(value)  # shortest round-trip text: both engines parse it back to the same double
    return str(value)


def to_csv(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for row in rows:
        writer.writerow([_csv_value(row[c.name]) for c in columns])
    return buf.getvalue()


@dataclass(frozen=True)
class Warehouse:
    """One engine's storage for a test session: a DuckDB file, or a PostgreSQL database."""

    engine: str
    duckdb_path: Path
    pg: PgSettings

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        if self.engine == "duckdb":
            # Opened only between dbt runs: dbt needs the file's write lock while it runs.
            con = duckdb.connect(str(self.duckdb_path))
            try:
                yield con
            finally:
                con.close()
        else:
            con = self.pg.connect()
            try:
                with con.cursor() as cur:
                    yield cur
                con.commit()
            finally:
                con.close()

    def load_table(
        self, schema: str, table: str, columns: Sequence[Column], rows: Sequence[dict[str, Any]],
        tmp_dir: Path,
    ) -> None:
        ddl = ", ".join(f'"{c.name}" {c.sql_type}' for c in columns)
        data = to_csv(columns, rows)
        with self._cursor() as cur:
            cur.execute(f'create schema if not exists "{schema}"')
            cur.execute(f'drop table if exists "{schema}"."{table}"')
            cur.execute(f'create table "{schema}"."{table}" ({ddl})')
            if self.engine == "duckdb":
                path = tmp_dir / f"{schema}.{table}.csv"
                path.write_text(data)
                types = ", ".join(f"'{c.name}': '{c.sql_type}'" for c in columns)
                cur.execute(
                    f'insert into "{schema}"."{table}" select * from read_csv(?, header = true, '
                    f"nullstr = '{NULL}', columns = {{{types}}}, auto_detect = false)",
                    [str(path)],
                )
            else:
                cur.copy_expert(
                    f'copy "{schema}"."{table}" from stdin with (format csv, header true, null \'{NULL}\')',
                    io.StringIO(data),
                )

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._cursor() as cur:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            return names, [tuple(r) for r in cur.fetchall()]

    def query_dicts(self, sql: str) -> list[dict[str, Any]]:
        names, rows = self.query(sql)
        return [dict(zip(names, r, strict=True)) for r in rows]
