"""The warehouse layer: which warehouse to read (from the dbt profile), read-only readers of DuckDB and
PostgreSQL."""

from fsync.warehouse.connect import Warehouse, open_reader, resolve_warehouse
from fsync.warehouse.readers import DuckDBReader, PostgresReader, Reader, open_duckdb, open_postgres, quote

__all__ = [
    "DuckDBReader",
    "PostgresReader",
    "Reader",
    "Warehouse",
    "open_duckdb",
    "open_postgres",
    "open_reader",
    "quote",
    "resolve_warehouse",
]
