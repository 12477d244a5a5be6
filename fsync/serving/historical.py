"""Historical features: a training set for any labels, from the same compiled `fstore.point_in_time_join` as
the dbt training-set models (fsync.registry.training_set compiles it with the real dbt; nothing here joins).

The SQL depends only on the views, columns, prefixes, keys, label timestamp and the labels' relation and
columns, so it is compiled once per such shape and cached: in memory, and on disk under the project's target
path keyed by the manifest it was compiled against (a second call, even from a new process, skips dbt).
In-memory labels (a pandas DataFrame or a pyarrow Table) are the relation `fsync_labels`: registered with
DuckDB, or loaded into the temp table `pg_temp.fsync_labels` on PostgreSQL. A Spark build is queried by an
in-memory DuckDB over its tables' Parquet files, with the join compiled against a DuckDB twin of the target.
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
from fsync.warehouse import SparkParquetReader, Warehouse, open_duckdb

if TYPE_CHECKING:
    import pyarrow

MEMORY_LABELS = "fsync_labels"
DUCKDB_TWIN = "fsync_spark_as_duckdb"  # the target a Spark build's training-set SQL compiles against


@dataclass(frozen=True)
class Project:
    """What compiling needs: the dbt project, its target, its profiles dir, and where the cache lives."""

    project_dir: Path
    target: str | None
    profiles_dir: str | None
    cache_dir: Path
    profile: str | None = None  # the project's dbt profile (a Spark build compiles against a DuckDB twin)


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
            target, profiles = self.project.target, self.project.profiles_dir
            if self.warehouse.kind == "spark":
                target, profiles = DUCKDB_TWIN, str(self._duckdb_twin())
            sql = compile_sql(request, self.project.project_dir.resolve(), target, profiles)
            _write_atomically(path, sql)
        self._sql[key] = sql
        return sql

    def _duckdb_twin(self) -> Path:
        """A profiles dir whose one target is an in-memory DuckDB with the Spark target's schema: the join
        compiles to DuckDB SQL (the duckdb__ macros, tested like the spark__ ones) naming each Spark table
        "memory"."<schema>"."<table>", which is the view SparkParquetReader makes over its Parquet files."""
        profile, schema = self.project.profile, self.warehouse.spark_schema
        if not profile or not schema:
            raise FsyncError(
                "historical features of a Spark build need the project's dbt profile and the spark target's"
                " schema; name a profile in dbt_project.yml and a schema in the target."
            )
        directory = self.project.cache_dir / "spark-as-duckdb"
        outputs = {DUCKDB_TWIN: {"type": "duckdb", "path": ":memory:", "schema": schema, "threads": 1}}
        # JSON is YAML: profiles.yml written without a YAML writer
        _write_atomically(
            directory / "profiles.yml", json.dumps({profile: {"target": DUCKDB_TWIN, "outputs": outputs}})
        )
        return directory

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
        dialect = "duckdb" if kind == "spark" else kind  # a Spark build is queried by DuckDB over its files
        if table is None:
            expr, labels_file = labels_expression(str(labels), self.manifest, dialect)
            shape: tuple[tuple[str, str], ...] = ()
        else:
            names = table.column_names
            for k in (*entity_keys, label_timestamp):
                if k not in names:
                    raise FsyncError(
                        f"labels have no column {k!r} (their columns: {', '.join(names)}); the label key"
                        " columns and the label timestamp must be columns of the labels."
                    )
            expr = json.dumps(MEMORY_LABELS if dialect == "duckdb" else PG_TEMP_LABELS)
            labels_file = None
            shape = tuple((f.name, str(f.type)) for f in table.schema)
        sql = self.sql(Request(expr, entity_keys, label_timestamp, views, available_at), shape)
        if kind == "duckdb":
            return self._run_duckdb(sql, table)
        if kind == "spark":
            return self._run_spark(sql, table)
        return self._run_postgres(sql, table, labels_file)

    def _run_spark(self, sql: str, table: pyarrow.Table | None) -> pyarrow.Table:
        import duckdb

        assert self.warehouse.spark_warehouse is not None
        reader = SparkParquetReader(self.warehouse.spark_warehouse)
        try:
            reader.expose_all()
            reader.con.execute("set preserve_insertion_order = true")
            if table is not None:
                reader.con.register(MEMORY_LABELS, table)
            return _arrow(reader.con, sql)
        except duckdb.Error as exc:
            raise FsyncError(
                f"the training-set query failed on DuckDB over the Spark build's Parquet files: {exc}"
            ) from None
        finally:
            reader.close()

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
