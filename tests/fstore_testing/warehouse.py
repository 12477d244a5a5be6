"""Load and read tables in the test's DuckDB file, PostgreSQL schema or Spark warehouse.

DuckDB and PostgreSQL are read and written with their own clients. Spark (dbt-spark session mode) keeps
its catalog in an embedded Derby metastore that admits one process at a time, and dbt is that process
while it runs: the tests never start a Spark session of their own. Tables are loaded as Parquet files
(written by DuckDB) registered through dbt (`run-operation run_statements` of integration_tests), and read
back by DuckDB straight from the Parquet files Spark wrote under its warehouse dir
(`<warehouse>/<schema>.db/<table>/*.parquet`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from fstore_testing.dbt import DbtRunner, PgSettings

NULL = r"\N"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # the same on DuckDB and PostgreSQL: integer, timestamp, numeric(p,s), float8, varchar

    def spark_type(self) -> str:
        if self.sql_type.startswith("numeric"):
            return "decimal" + self.sql_type[len("numeric"):]
        return {"integer": "int", "timestamp": "timestamp_ntz", "float8": "double", "varchar": "string"}[
            self.sql_type]


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


Table = tuple[Sequence[Column], Sequence[dict[str, Any]]]


@dataclass(frozen=True)
class Warehouse:
    """One engine's storage for a test session: a DuckDB file, a PostgreSQL database or a Spark warehouse."""

    engine: str
    duckdb_path: Path
    pg: PgSettings
    spark_dir: Path | None = None  # spark: spark.sql.warehouse.dir of the session
    dbt: DbtRunner | None = None  # spark: the dbt that runs DDL (its project has the run_statements macro)

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        if self.engine == "spark":
            raise RuntimeError("no SQL client for Spark in the test process: use read_table / load_tables")
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

    def load_tables(self, schema: str, tables: Mapping[str, Table], tmp_dir: Path) -> None:
        """(Re)create `schema`.<name> for every table, with exactly these column types and rows."""
        if self.engine != "spark":
            for name, (columns, rows) in tables.items():
                self.load_table(schema, name, columns, rows, tmp_dir)
            return
        statements = [f"create schema if not exists {schema}"]
        for name, (columns, rows) in tables.items():
            location = tmp_dir / "parquet" / schema / name
            location.mkdir(parents=True, exist_ok=True)
            con = duckdb.connect()
            try:
                con.execute("create table t (" + ", ".join(f'"{c.name}" {c.sql_type}' for c in columns) + ")")
                self._insert_csv(con, "t", columns, rows, tmp_dir / f"{schema}.{name}.csv")
                con.execute(f"copy t to '{location / 'data.parquet'}' (format parquet)")
            finally:
                con.close()
            ddl = ", ".join(f"`{c.name}` {c.spark_type()}" for c in columns)
            statements += [f"drop table if exists {schema}.{name}",
                           f"create table {schema}.{name} ({ddl}) using parquet location '{location}'"]
        assert self.dbt is not None, "the spark warehouse needs the dbt runner of integration_tests"
        self.dbt.ok("run-operation", "run_statements", "--args", json.dumps({"statements": statements}))

    @staticmethod
    def _insert_csv(cur: Any, table: str, columns: Sequence[Column], rows: Sequence[dict[str, Any]],
                    path: Path) -> None:
        path.write_text(to_csv(columns, rows))
        types = ", ".join(f"'{c.name}': '{c.sql_type}'" for c in columns)
        cur.execute(
            f"insert into {table} select * from read_csv(?, header = true, "
            f"nullstr = '{NULL}', columns = {{{types}}}, auto_detect = false)",
            [str(path)],
        )

    def load_table(
        self, schema: str, table: str, columns: Sequence[Column], rows: Sequence[dict[str, Any]],
        tmp_dir: Path,
    ) -> None:
        if self.engine == "spark":
            self.load_tables(schema, {table: (columns, rows)}, tmp_dir)
            return
        ddl = ", ".join(f'"{c.name}" {c.sql_type}' for c in columns)
        with self._cursor() as cur:
            cur.execute(f'create schema if not exists "{schema}"')
            cur.execute(f'drop table if exists "{schema}"."{table}"')
            cur.execute(f'create table "{schema}"."{table}" ({ddl})')
            if self.engine == "duckdb":
                csv_path = tmp_dir / f"{schema}.{table}.csv"
                self._insert_csv(cur, f'"{schema}"."{table}"', columns, rows, csv_path)
            else:
                cur.copy_expert(
                    f'copy "{schema}"."{table}" from stdin with (format csv, header true, null \'{NULL}\')',
                    io.StringIO(to_csv(columns, rows)),
                )

    def read_table(self, schema: str, table: str) -> list[dict[str, Any]]:
        """Every row of `schema`.`table` as dicts (in the engine's scan order)."""
        if self.engine != "spark":
            return self.query_dicts(f'select * from "{schema}"."{table}"')
        assert self.spark_dir is not None
        files = sorted((self.spark_dir / f"{schema}.db" / table).glob("*.parquet"))
        assert files, f"no Parquet files of {schema}.{table} under {self.spark_dir}"
        con = duckdb.connect()
        try:
            cursor = con.execute("select * from read_parquet(?)", [[str(f) for f in files]])
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        finally:
            con.close()

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._cursor() as cur:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            return names, [tuple(r) for r in cur.fetchall()]

    def query_dicts(self, sql: str) -> list[dict[str, Any]]:
        names, rows = self.query(sql)
        return [dict(zip(names, r, strict=True)) for r in rows]
