"""Warehouse readers: one small interface (columns, one row, a stream of rows) over DuckDB, PostgreSQL and
the Parquet files of a Spark build, opened read-only, in UTC. A missing DuckDB file is a user error; a locked
file or an unreachable server is an outage (exit 3), reported without the password."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from fsync.errors import FsyncError, InfraUnavailable
from fsync.redact import redact_dsn


class Reader(Protocol):
    param: str

    def columns(self, schema: str, table: str) -> dict[str, str]: ...
    def one(self, sql: str, params: list[Any]) -> tuple[Any, ...] | None: ...
    def stream(self, sql: str, params: list[Any], batch_size: int) -> Iterator[list[tuple[Any, ...]]]: ...
    def stage(self, sql: str, params: list[Any]) -> tuple[str, list[Any]]:
        """A query whose result several later queries read: the SQL (and parameters) that reads it back,
        to be used as a CTE body. The warehouse computes it once where it can (a temporary table)."""
        ...

    def epoch_us(self, expression: str) -> str:
        """SQL for the microseconds since the epoch (UTC) of a timestamp expression, exactly."""
        ...

    def close(self) -> None: ...


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class DuckDBReader:
    param = "?"

    def __init__(self, path: Path, memory_limit: str | None = None) -> None:
        self.con = open_duckdb(path)
        self._configure(memory_limit)

    def _configure(self, memory_limit: str | None) -> None:
        self.con.execute("set TimeZone = 'UTC'")
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
        with _duckdb_errors():
            return self.con.execute(sql, params).fetchone()

    def stream(self, sql: str, params: list[Any], batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
        # On the connection itself: a cursor is another connection, which does not see temporary tables.
        # One thread: while rows stream, the other core is the online store's (Redis applies the writes).
        with _duckdb_errors():
            self.con.execute("set threads = 1")
            self.con.execute(sql, params)
            while rows := self.con.fetchmany(batch_size):
                yield rows

    def epoch_us(self, expression: str) -> str:
        return f"epoch_us({expression})"

    def stage(self, sql: str, params: list[Any]) -> tuple[str, list[Any]]:
        # One name: staging the next view's candidates frees the previous view's.
        with _duckdb_errors():
            self.con.execute("reset threads")  # every core for the scan of the whole view
            self.con.execute(f"create or replace temporary table _fsync_stage as {sql}", params)
        return "select * from _fsync_stage", []

    def close(self) -> None:
        self.con.close()


class SparkParquetReader(DuckDBReader):
    """A Spark-built warehouse read from the Parquet files of its tables, by an in-memory DuckDB: the table
    `schema.table` of dbt-spark's default layout is `<warehouse dir>/<schema>.db/<table>/` (Hive-style
    partition directories included), exposed as a DuckDB view of the same name, so every query of fsync runs
    unchanged and streams in batches; nothing is collected in a Spark driver (no Spark runs at all)."""

    def __init__(self, warehouse_dir: Path, memory_limit: str | None = None) -> None:
        import duckdb

        if not warehouse_dir.is_dir():
            raise FsyncError(
                f"Spark warehouse dir {warehouse_dir} does not exist; run `dbt build` on the spark target,"
                " or check spark.sql.warehouse.dir in the dbt profile (FSYNC_SPARK_WAREHOUSE overrides it)."
            )
        self.warehouse_dir = warehouse_dir
        self.con = duckdb.connect()
        self._configure(memory_limit)
        self._tables: set[tuple[str, str]] = set()

    def columns(self, schema: str, table: str) -> dict[str, str]:
        self.expose(schema, table)
        return super().columns(schema, table)

    def expose_all(self) -> None:
        """A view of every table under the warehouse dir (for SQL that names any of them)."""
        for database in sorted(self.warehouse_dir.glob("*.db")):
            for table in sorted(p for p in database.iterdir() if p.is_dir()):
                self.expose(database.name.removesuffix(".db"), table.name)

    def expose(self, schema: str, table: str) -> None:
        """The view `schema.table` over the table's Parquet files (none: the relation is not found)."""
        if (schema, table) in self._tables:
            return
        location = self.warehouse_dir / f"{schema.lower()}.db" / table.lower()
        if (location / "_delta_log").is_dir():
            raise FsyncError(
                f"{schema}.{table} under {location} is a Delta table; fsync reads Spark's Parquet tables:"
                " build the feature view with file_format parquet."
            )
        # Spark's own files (_SUCCESS, _temporary/ of an unfinished write, .crc checksums) are not data.
        files = sorted(
            str(f)
            for f in location.rglob("*.parquet")
            if not any(part.startswith(("_", ".")) for part in f.relative_to(location).parts)
        )
        if not files:
            return
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        with _duckdb_errors():
            self.con.execute(f"create schema if not exists {quote(schema)}")
            self.con.execute(
                f"create or replace view {quote(schema)}.{quote(table)} as"
                f" select * from read_parquet([{listed}], hive_partitioning = true)"
            )
        self._tables.add((schema, table))


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
        with self._errors(), self.con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()

    def stream(self, sql: str, params: list[Any], batch_size: int) -> Iterator[list[tuple[Any, ...]]]:
        self._n += 1
        with self._errors(), self.con.cursor(name=f"fsync_stream_{self._n}") as cur:  # server-side cursor
            cur.itersize = batch_size
            cur.execute(sql, params)
            while rows := cur.fetchmany(batch_size):
                yield rows

    def epoch_us(self, expression: str) -> str:
        # Whole seconds and the microseconds of the seconds field, both exact (epoch alone is a double
        # before PostgreSQL 14); the fraction of the seconds field is never negative, also before 1970.
        return (
            f"(cast(extract(epoch from date_trunc('second', {expression})) as bigint) * 1000000"
            f" + mod(cast(extract(microseconds from {expression}) as bigint), 1000000))"
        )

    def stage(self, sql: str, params: list[Any]) -> tuple[str, list[Any]]:
        # A read-only session cannot create even a temporary table: each reader computes it (a CTE).
        return sql, list(params)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """A failed query is one line naming what failed; a lost connection is an outage (exit 3)."""
        import psycopg2

        try:
            yield
        except psycopg2.OperationalError as exc:
            raise InfraUnavailable(f"PostgreSQL failed a query: {_first_line(exc)}") from None
        except (psycopg2.Error, ValueError, OverflowError) as exc:
            # ValueError/OverflowError: a value Python cannot hold (a date 'infinity', a year past 9999)
            with contextlib.suppress(psycopg2.Error):
                self.con.rollback()
            raise FsyncError(f"PostgreSQL failed a query of fsync: {_first_line(exc)}") from None

    def close(self) -> None:
        self.con.close()


@contextlib.contextmanager
def _duckdb_errors() -> Iterator[None]:
    import duckdb

    try:
        yield
    except (duckdb.Error, ValueError, OverflowError) as exc:
        raise FsyncError(f"DuckDB failed a query of fsync: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_duckdb(path: Path) -> Any:
    """A read-only connection to the warehouse file; a missing file is a user error, a lock an outage."""
    import duckdb

    if not path.exists():
        raise FsyncError(
            f"DuckDB warehouse file {path} does not exist; run `dbt build`, or check the dbt profile's path"
            " (FSYNC_DUCKDB_PATH overrides it)."
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
    except psycopg2.ProgrammingError:  # an unparsable DSN: its text may hold the password, never echo it
        raise FsyncError(f"the PostgreSQL connection string is invalid ({redact_dsn(dsn)}).") from None
