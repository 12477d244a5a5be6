"""Which warehouse to read, and the opener of its reader.

The warehouse is the dbt profile's target for the project (fsync/project.py), of the manifest's adapter type;
fsync's `warehouse`, `duckdb_path`, `postgres_dsn` and `spark_warehouse` settings override it (for a file
outside the profile, or a read-only role). A Spark build is read from its tables' Parquet files.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from fsync.errors import FsyncError
from fsync.project import DbtProject, load_warehouse_target
from fsync.redact import redact_dsn
from fsync.settings import Settings
from fsync.warehouse.readers import DuckDBReader, PostgresReader, Reader, SparkParquetReader

SUPPORTED = ("duckdb", "postgres", "spark")


@dataclass(frozen=True)
class Warehouse:
    kind: str  # duckdb | postgres | spark
    duckdb_path: Path | None = None
    spark_warehouse: Path | None = None  # spark: the warehouse dir holding each table's Parquet files
    spark_schema: str | None = None  # spark: the target's schema (historical reads compile against it)
    postgres_dsn: str | None = field(default=None, repr=False)
    duckdb_memory_limit: str | None = None
    source: str = ""  # where the setting came from (the profile and target, or an fsync setting)

    def describe(self) -> str:
        if self.kind == "duckdb":
            return f"DuckDB file {self.duckdb_path}"
        if self.kind == "spark":
            return f"Spark warehouse dir {self.spark_warehouse} (Parquet, read by DuckDB)"
        return f"PostgreSQL ({redact_dsn(self.postgres_dsn or '')})"


def resolve_warehouse(settings: Settings, project: DbtProject, adapter_type: str) -> Warehouse:
    """The warehouse the manifest was built into: `adapter_type` is the manifest's (metadata.adapter_type)."""
    kind = settings.warehouse or adapter_type
    if kind not in SUPPORTED:
        raise FsyncError(
            f"warehouse {kind!r} is not supported by this command; fsync reads {' or '.join(SUPPORTED)}."
        )
    limit = settings.duckdb_memory_limit or None
    if kind == "duckdb" and settings.duckdb_path:
        return Warehouse(
            kind,
            duckdb_path=settings.path(settings.duckdb_path),
            duckdb_memory_limit=limit,
            source="fsync setting duckdb_path",
        )
    if kind == "postgres" and settings.postgres_dsn:
        return Warehouse(kind, postgres_dsn=settings.postgres_dsn, source="fsync setting postgres_dsn")
    if kind == "spark" and settings.spark_warehouse:
        schema = None
        with contextlib.suppress(FsyncError):  # the schema only matters to historical reads
            schema = str(load_warehouse_target(settings, project).fields.get("schema") or "") or None
        return Warehouse(
            kind,
            spark_warehouse=settings.path(settings.spark_warehouse),
            spark_schema=schema,
            duckdb_memory_limit=limit,
            source="fsync setting spark_warehouse",
        )
    target = load_warehouse_target(settings, project)
    if target.type != kind:
        raise FsyncError(
            f"the manifest was built on {kind} but the dbt {target.source} is {target.type or 'untyped'};"
            f" pass --target (or set DBT_TARGET) to the {kind} target the manifest was built with."
        )
    if kind == "duckdb":
        return Warehouse(
            kind,
            duckdb_path=target.duckdb_path(),
            duckdb_memory_limit=limit,
            source=target.source,
        )
    if kind == "spark":
        return Warehouse(
            kind,
            spark_warehouse=target.spark_warehouse(),
            spark_schema=str(target.fields.get("schema") or "") or None,
            duckdb_memory_limit=limit,
            source=target.source,
        )
    return Warehouse(kind, postgres_dsn=target.postgres_dsn(), source=target.source)


def refuse_spark_queries(warehouse: Warehouse, what: str) -> None:
    """A training-set query runs in the warehouse; a Spark build is only read from its files (push)."""
    if warehouse.kind == "spark":
        raise FsyncError(
            f"{what} does not run on a Spark build yet (fsync push and online reads do); build the training"
            " set as a dbt model on Spark (fstore.point_in_time_join), or build the project on DuckDB or"
            " PostgreSQL."
        )


def open_reader(warehouse: Warehouse) -> Reader:
    if warehouse.kind == "duckdb":
        assert warehouse.duckdb_path is not None
        return DuckDBReader(warehouse.duckdb_path, warehouse.duckdb_memory_limit)
    if warehouse.kind == "spark":
        assert warehouse.spark_warehouse is not None
        return SparkParquetReader(warehouse.spark_warehouse, warehouse.duckdb_memory_limit)
    return PostgresReader(warehouse.postgres_dsn or "")
