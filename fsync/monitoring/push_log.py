"""`fsync logs export --push-log`: drain the push log (fsync.online.push_log) into a warehouse table, exactly
once, like the served-value log: one transaction per batch inserts the rows and moves the table's watermark
row in `fsync_log_exports`; the store's entries are trimmed only once the warehouse holds them.

The table (default `fsync_push_log`): log_id, view, version, relation, generation, mode, as_of, completed_at,
available_at, entity_key, feature_ts - one row per pushed entity; `point_in_time_join`'s `available_at` reads
it (docs/availability.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fsync.online import push_log
from fsync.online.stores.base import OnlineStore
from fsync.serving.export import claim_batch, create_export_tables, export_tables, open_writable
from fsync.warehouse import Warehouse

DEFAULT_PUSH_TABLE = "fsync_push_log"
COLUMNS = (
    ("log_id", "varchar"),
    ("view", "varchar"),
    ("version", "integer"),
    ("relation", "varchar"),
    ("generation", "bigint"),
    ("mode", "varchar"),
    ("as_of", "timestamp"),
    ("completed_at", "timestamp"),
    ("available_at", "timestamp"),
    ("entity_key", "varchar"),
    ("feature_ts", "timestamp"),
)


@dataclass
class PushLogExport:
    table: str
    entries: int = 0
    rows: int = 0
    trimmed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "entries": self.entries, "rows": self.rows, "trimmed": self.trimmed}


def export_push_log(
    store: OnlineStore, warehouse: Warehouse, table: str = DEFAULT_PUSH_TABLE, batch_size: int = 100
) -> PushLogExport:
    tables = export_tables(table, "--push-table", COLUMNS)
    qualified, marks = tables.qualified, tables.marks
    duck = warehouse.kind == "duckdb"
    p = "?" if duck else "%s"
    con = open_writable(warehouse)
    if duck:
        con.execute("set TimeZone = 'UTC'")
    summary = PushLogExport(table)
    try:
        create_export_tables(con, warehouse.kind, tables)
        cur = con if duck else con.cursor()
        destination = f"push_log:{table}"
        cur.execute(f"select last_id from {marks} where destination = {p}", [destination])
        found = cur.fetchall()
        mark = str(found[0][0]) if found else None
        insert = f"insert into {qualified} values ({', '.join([p] * len(COLUMNS))})"
        upsert = (
            f"insert into {marks} values ({p}, {p}) on conflict (destination)"
            " do update set last_id = excluded.last_id"
        )
        while entries := push_log.entries(store, mark, batch_size):
            rows = [
                (
                    e.id,
                    r.view,
                    r.version,
                    r.relation,
                    r.generation,
                    r.mode,
                    r.as_of,
                    r.completed_at,
                    r.available_at,
                    r.entity_key,
                    r.feature_ts,
                )
                for e in entries
                for r in push_log.decode(e)
            ]
            if duck:
                con.execute("begin")
                try:
                    con.executemany(insert, rows)
                    con.execute(upsert, [destination, entries[-1].id])
                    con.execute("commit")
                except BaseException:
                    con.execute("rollback")
                    raise
            else:
                from psycopg2.extras import execute_batch

                is_new = claim_batch(cur, marks, destination, entries[-1].id)
                if is_new is not None:
                    execute_batch(cur, insert, [r for r in rows if is_new(r[0])], page_size=1000)
                    cur.execute(upsert, [destination, entries[-1].id])
                con.commit()
            mark = entries[-1].id
            summary.entries += len(entries)
            summary.rows += len(rows)
        if mark is not None:
            summary.trimmed = push_log.trim(store, mark)
    finally:
        con.close()
    return summary
