#!/usr/bin/env python3
"""Print a sample of the demo feature view and training set after `dbt build` on DuckDB.

    ../../.venv/bin/python scripts/show_demo.py      (in examples/demo)

Opens the DuckDB file read-only: FSTORE_DUCKDB_PATH, or fstore.duckdb in the demo project (the profile's
default path, from the directory `python3 dev.py demo` runs dbt in).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = {
    # latest version of the versioned feature view (latest_version: 2)
    "user_purchase_features_v2": "order by purchase_count_30d desc, user_id, feature_ts",
    "training_churn": "order by purchase__purchase_count_30d desc nulls last, label_ts, user_id",
}
SAMPLE_ROWS = 5


def database_path() -> Path:
    path = Path(os.environ.get("FSTORE_DUCKDB_PATH", "fstore.duckdb"))
    # dev.py demo runs dbt in the demo project, so a relative path is relative to it
    return path if path.is_absolute() else ROOT / path


def show(con: duckdb.DuckDBPyConnection, table: str, order_by: str) -> None:
    found = con.execute(
        "select count(*) from information_schema.tables where table_name = ?", [table]
    ).fetchall()
    if found[0][0] == 0:
        sys.exit(f"table {table} not found in {database_path()}: run `dbt seed` and `dbt build` first")
    count = con.execute(f"select count(*) from {table}").fetchall()[0][0]
    cursor = con.execute(f"select * from {table} {order_by} limit {SAMPLE_ROWS}")
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    print(f"\n{table}: {count} rows (first {len(rows)} shown)")
    print_table(columns, [["NULL" if v is None else str(v) for v in row] for row in rows])


def print_table(columns: list[str], rows: list[list[str]]) -> None:
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))


def main() -> None:
    path = database_path()
    if not path.exists():
        sys.exit(f"DuckDB file {path} does not exist: run `dbt seed` and `dbt build` (target duckdb) first")
    with duckdb.connect(str(path), read_only=True) as con:
        for table, order_by in SAMPLES.items():
            show(con, table, order_by)


if __name__ == "__main__":
    main()
