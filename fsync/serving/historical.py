"""Historical features: a training set for any labels, from the same compiled `fstore.point_in_time_join` as
the dbt training-set models (fsync.registry.training_set compiles it with the real dbt; nothing here joins).

The SQL depends only on the views, columns, prefixes, keys, label timestamp and the labels' relation and
columns, so it is compiled once per such shape and cached: in memory, and on disk under the project's target
path keyed by the manifest it was compiled against (a second call, even from a new process, skips dbt).
In-memory labels (a pandas DataFrame or a pyarrow Table) are the relation `fsync_labels`: registered with
DuckDB, or loaded into the temp table `pg_temp.fsync_labels` on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsync.errors import FsyncError
from fsync.manifest import Manifest
from fsync.registry.training_set import (
    PG_TEMP_LABELS,
    Request,
    ViewRequest,
    compile_sql,
    file_relation,
    labels_expression,
    run_postgres,
)
from fsync.warehouse import Warehouse, open_duckdb

if TYPE_CHECKING:
    import pyarrow

MEMORY_LABELS = "fsync_labels"


@dataclass(frozen=True)
class Project:
    """What compiling needs: the dbt project, its target, its profiles dir, and where the cache lives."""

    project_dir: Path
    target: str | None
    profiles_dir: str | None
    cache_dir: Path


def _as_arrow(labels: Any) -> pyarrow.Table | None:
    """In-memory labels as an Arrow table; None for a relation name or file (a str or a Path)."""
    import pyarrow as pa

    if isinstance(labels, str | Path):
        return None
    if isinstance(labels, pa.Table):
        return labels
    if isinstance(labels, pa.RecordBatch):
        return pa.Table.from_batches([labels])
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(labels, pd.DataFrame):
        return pa.Table.from_pandas(labels, preserve_index=False)
    raise FsyncError(
        f"labels must be a pandas DataFrame, a pyarrow Table, a model name or a relation, not"
        f" {type(labels).__name__}."
    )


class HistoricalFeatures:
    """Compiles (once per shape) and runs training-set queries against the warehouse."""

    def __init__(self, manifest: Manifest, project: Project, warehouse: Warehouse) -> None:
        self.manifest, self.project, self.warehouse = manifest, project, warehouse
        self._sql: dict[str, str] = {}

    def sql(self, request: Request, label_columns: tuple[tuple[str, str], ...]) -> str:
        """The compiled SQL of a request (cached in memory and on disk)."""
        jinja = request.jinja()
        identity = json.dumps(
            [
                jinja,
                label_columns,
                self.project.target,
                self.manifest.generated_at,
                self.manifest.adapter_type,
                self.warehouse.kind,
            ]
        )
        key = hashlib.sha256(identity.encode()).hexdigest()[:32]
        if key in self._sql:
            return self._sql[key]
        path = self.project.cache_dir / f"{key}.sql"
        if path.is_file():
            sql = path.read_text()
        else:
            sql = compile_sql(
                request, self.project.project_dir.resolve(), self.project.target, self.project.profiles_dir
            )
            _write_atomically(path, sql)
        self._sql[key] = sql
        return sql

    def run(
        self,
        labels: Any,
        views: tuple[ViewRequest, ...],
        label_timestamp: str,
        entity_keys: tuple[str, ...],
        available_at: str | None = None,
    ) -> pyarrow.Table:
        table = _as_arrow(labels)
        kind = self.warehouse.kind
        if table is None:
            expr, labels_file = labels_expression(str(labels), self.manifest, kind)
            shape: tuple[tuple[str, str], ...] = ()
        else:
            names = table.column_names
            for k in (*entity_keys, label_timestamp):
                if k not in names:
                    raise FsyncError(
                        f"labels have no column {k!r} (their columns: {', '.join(names)}); the label key"
                        " columns and the label timestamp must be columns of the labels."
                    )
            expr = json.dumps(MEMORY_LABELS if kind == "duckdb" else PG_TEMP_LABELS)
            labels_file = None
            shape = tuple((f.name, str(f.type)) for f in table.schema)
        sql = self.sql(Request(expr, entity_keys, label_timestamp, views, available_at), shape)
        if kind == "duckdb":
            return self._run_duckdb(sql, table)
        return self._run_postgres(sql, table, labels_file)

    def _run_duckdb(self, sql: str, table: pyarrow.Table | None) -> pyarrow.Table:
        import duckdb

        assert self.warehouse.duckdb_path is not None
        con = open_duckdb(self.warehouse.duckdb_path)
        try:
            con.execute("set TimeZone = 'UTC'")
            con.execute("set preserve_insertion_order = true")
            if table is not None:
                con.register(MEMORY_LABELS, table)
            return _arrow(con, sql)
        except duckdb.Error as exc:
            raise FsyncError(f"the training-set query failed on DuckDB: {exc}") from None
        finally:
            con.close()

    def _run_postgres(self, sql: str, table: pyarrow.Table | None, labels_file: Path | None) -> pyarrow.Table:
        import duckdb

        local = duckdb.connect()
        labels = None
        if table is not None:
            local.register("_fsync_labels", table)
            labels = "_fsync_labels"
        elif labels_file is not None:
            labels = file_relation(labels_file)
        local, _, _ = run_postgres(sql, self.warehouse.postgres_dsn or "", labels, local)
        try:
            return _arrow(local, "select * from t")
        finally:
            local.close()


def _arrow(con: Any, sql: str) -> pyarrow.Table:
    relation = con.sql(sql)
    if hasattr(relation, "to_arrow_table"):  # DuckDB >= 1.4
        return relation.to_arrow_table()
    return relation.arrow()  # pragma: no cover - older DuckDB


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
