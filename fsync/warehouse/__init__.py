"""The warehouse layer: which warehouse to read (from the dbt profile), read-only readers of DuckDB,
PostgreSQL and a Spark build's Parquet files."""

from fsync.warehouse.connect import Warehouse, open_reader, refuse_spark_queries, resolve_warehouse
from fsync.warehouse.readers import (
    DuckDBReader,
    PostgresReader,
    Reader,
    SparkParquetReader,
    open_duckdb,
    open_postgres,
    quote,
)

__all__ = [
    "DuckDBReader",
    "PostgresReader",
    "Reader",
    "SparkParquetReader",
    "Warehouse",
    "open_duckdb",
    "open_postgres",
    "open_reader",
    "quote",
    "refuse_spark_queries",
    "resolve_warehouse",
]
