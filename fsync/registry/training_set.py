"""`fsync training-set`: a point-in-time-correct training set from feature names, with fstore's macro.

The SQL is not a second implementation: it is `fstore.point_in_time_join` over `fstore.feature_view(...)`
entries, compiled by the real dbt (`dbt compile --inline`) against the project and target, so TTLs, keys and
timestamps come from each view's meta exactly as in the dbt training-set models. The result runs on the
warehouse (DuckDB or PostgreSQL) and is written with DuckDB's COPY (Parquet or CSV); every label row is kept,
in label order (`keep_label_order=true`: the reader observes the order, a warehouse table would not).

Feature spec: `view:feature,view@2:feature,...` (fsync/manifest/names.py: `@N` pins a model version; none
means the latest).
Labels: a .csv/.parquet file (DuckDB reads it in place; on PostgreSQL it is loaded into a temp table first),
a model/seed name of the project (`ref`), or any relation SQL the warehouse understands (`main.my_labels`,
`read_csv_auto('/abs/labels.csv')`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from fsync.errors import FsyncError, InfraUnavailable
from fsync.manifest import FeatureViewSpec, Manifest, TrainingSetSpec
from fsync.warehouse import open_duckdb, open_postgres, quote

if TYPE_CHECKING:
    import duckdb


_IDENTIFIER_START = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)?")


@dataclass(frozen=True)
class ViewRequest:
    view: FeatureViewSpec
    columns: tuple[str, ...]
    prefix: str
    renamed: tuple[str, ...] = ()  # the output name of each column (before the prefix); empty: the same

    @property
    def outputs(self) -> tuple[str, ...]:
        """The columns this view contributes, as the join names them: `<prefix><column or its new name>`."""
        return tuple(self.prefix + c for c in (self.renamed or self.columns))

    def columns_jinja(self) -> str:
        if not self.renamed or self.renamed == self.columns:
            return json.dumps(list(self.columns))
        return json.dumps(dict(zip(self.columns, self.renamed, strict=True)))


@dataclass(frozen=True)
class Request:
    labels: str  # a Jinja expression: ref('x') or a quoted relation string
    entity_keys: tuple[str, ...]
    label_timestamp: str
    views: tuple[ViewRequest, ...]
    available_at: str | None = None  # the push log relation: join what was served (docs/availability.md)

    def jinja(self) -> str:
        entries = ", ".join(
            f"fstore.feature_view({json.dumps(v.view.name)}"
            + (f", version={v.view.version}" if v.view.version is not None else "")
            + f", prefix={json.dumps(v.prefix)}, columns={v.columns_jinja()})"
            for v in self.views
        )
        if self.available_at is not None:
            entries = ", ".join(
                f"fstore._with_available_at(fstore.feature_view({json.dumps(v.view.name)}"
                + (f", version={v.view.version}" if v.view.version is not None else "")
                + f", prefix={json.dumps(v.prefix)}, columns={v.columns_jinja()}),"
                f" {json.dumps(self.available_at)})"
                for v in self.views
            )
        return (
            f"{{{{ fstore.point_in_time_join(labels={self.labels},"
            f" entity_keys={json.dumps(list(self.entity_keys))},"
            f" label_timestamp={json.dumps(self.label_timestamp)}, feature_views=[{entries}],"
            # The macro's rows come unordered by default; this output is read row by row: label order.
            " keep_label_order=true) }}"
        )


def parse_features(spec: str, manifest: Manifest, prefixes: dict[str, str]) -> tuple[ViewRequest, ...]:
    """`view[@N]:feature,...` -> one request per view version, in first-mentioned order."""
    grouped: dict[str, tuple[FeatureViewSpec, list[str], str]] = {}
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        view, feature = manifest.feature(item)
        if view.label not in grouped:
            written = item.partition(":")[0].strip()
            prefix = prefixes.get(
                written, prefixes.get(view.label, prefixes.get(view.name, f"{view.name}__"))
            )
            if not _IDENTIFIER_START.fullmatch(prefix):
                raise FsyncError(
                    f"--prefix {written}={prefix!r}: a prefix starts the names of SQL columns; use letters,"
                    " digits and '_' (not starting with a digit), e.g. purchase__."
                )
            grouped[view.label] = (view, [], prefix)
        if feature not in grouped[view.label][1]:
            grouped[view.label][1].append(feature)
    if not grouped:
        raise FsyncError("--features is empty; name at least one VIEW[@VERSION]:FEATURE.")
    used = [p for _, _, p in grouped.values()]
    if len(set(used)) != len(used):
        raise FsyncError(
            f"two views get the same column prefix ({', '.join(used)});"
            " give each its own with --prefix VIEW@N=PREFIX."
        )
    return tuple(ViewRequest(v, tuple(cols), p) for v, cols, p in grouped.values())


def declared_views(manifest: Manifest, training_set: TrainingSetSpec) -> tuple[ViewRequest, ...]:
    """The views, versions, columns and prefixes a training-set model joins, read from its
    `fstore.feature_view(name, columns, version=, prefix=)` entries (parsed from its Jinja SQL, not run), and
    resolved through the same names and versions the macro resolves (no version: the latest)."""
    node = training_set.node
    try:
        tree = _JINJA.parse(node.raw_code or "")
    except jinja2.TemplateSyntaxError as exc:
        raise FsyncError(f"training set {node.label}: cannot read its SQL ({exc}).") from None
    found: list[ViewRequest] = []
    for call in tree.find_all(jinja2.nodes.Call):
        target = call.node
        if not (
            isinstance(target, jinja2.nodes.Getattr)
            and target.attr == "feature_view"
            and isinstance(target.node, jinja2.nodes.Name)
            and target.node.name == "fstore"
        ):
            continue
        args: dict[str, Any] = {}
        try:
            for name, arg in zip(("name", "columns", "version", "prefix"), call.args, strict=False):
                args[name] = arg.as_const()
            for kw in call.kwargs:
                args[kw.key] = kw.value.as_const()
        except jinja2.nodes.Impossible:
            raise FsyncError(
                f"training set {node.label}: an fstore.feature_view(...) entry has an argument that is not a"
                " literal; fsync reads the views of a training set from literal names, versions, prefixes"
                " and columns."
            ) from None
        version = args.get("version")
        view = manifest.view(str(args.get("name")) + (f"@{int(version)}" if version is not None else ""))
        columns = args.get("columns") or []
        if isinstance(columns, dict):
            names, renamed = tuple(str(c) for c in columns), tuple(str(c) for c in columns.values())
        else:
            names, renamed = tuple(str(c) for c in columns), ()
        for c in names:
            manifest.feature(f"{view.label}:{c}")  # a column that is not a feature of the view: an error
        found.append(ViewRequest(view, names, str(args.get("prefix") or ""), renamed))
    if not found:
        raise FsyncError(
            f"training set {node.label} has no fstore.feature_view(...) entries, so fsync cannot tell which"
            " views it joins; build its feature_views with fstore.feature_view (docs/registry.md)."
        )
    return tuple(found)


_JINJA = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])


def labels_expression(labels: str, manifest: Manifest, warehouse: str) -> tuple[str, Path | None]:
    """The Jinja expression of the labels relation, and the label file to load first (PostgreSQL) if any."""
    path = Path(labels).expanduser()
    if path.suffix.lower() in (".csv", ".parquet", ".pq") or path.is_file():
        if not path.is_file():
            raise FsyncError(f"--labels file {path} does not exist.")
        if warehouse == "duckdb":
            return json.dumps(file_relation(path)), None
        if warehouse == "postgres":
            return json.dumps(PG_TEMP_LABELS), path
        raise FsyncError(
            f"--labels file {path}: on {warehouse} load the labels into a table and pass its name."
        )
    named = [n for n in manifest.graph.nodes.values() if n.kind in ("model", "seed") and n.name == labels]
    if named:
        return f"ref({json.dumps(labels)})", None
    if "{{" in labels or "{%" in labels:
        raise FsyncError("--labels must be a file, a model name or a relation, not Jinja.")
    return json.dumps(labels), None


def dbt_executable() -> str:
    beside = Path(sys.executable).parent / ("dbt.exe" if os.name == "nt" else "dbt")
    found = str(beside) if beside.exists() else shutil.which("dbt")
    if not found:
        raise FsyncError(
            "fsync training-set compiles with dbt, which is not installed: pip install 'fstore-fsync[dbt]'."
        )
    return found


def compile_sql(request: Request, project_dir: Path, dbt_target: str | None, profiles_dir: str | None) -> str:
    """Compile the join with the real dbt, in its own target/log dirs (the project's target/ stays as is)."""
    return compile_inline(request.jinja(), project_dir, dbt_target, profiles_dir)


def compile_inline(
    jinja: str,
    project_dir: Path,
    dbt_target: str | None,
    profiles_dir: str | None,
    dbt_vars: dict[str, Any] | None = None,
) -> str:
    """`dbt compile --inline` of a template in its own target/log dirs (the project's target/ stays as is)."""
    with tempfile.TemporaryDirectory(prefix="fsync-ts-") as tmp:
        cmd = [
            dbt_executable(),
            "compile",
            "--inline",
            jinja,
            "--output",
            "json",
            "--quiet",
            "--no-populate-cache",
            "--project-dir",
            str(project_dir),
            "--target-path",
            str(Path(tmp) / "target"),
            "--log-path",
            str(Path(tmp) / "logs"),
        ]
        if dbt_target:
            cmd += ["--target", dbt_target]
        if profiles_dir:
            cmd += ["--profiles-dir", profiles_dir]
        if dbt_vars:
            cmd += ["--vars", json.dumps(dbt_vars)]
        proc = subprocess.run(cmd, cwd=project_dir, capture_output=True, text=True)
    if proc.returncode != 0:
        text = (proc.stdout + proc.stderr).strip()
        lines = [ln for ln in text.splitlines() if ln.strip()]
        detail = "\n".join(lines[-15:])
        if "lock" in text.lower() and "duckdb" in text.lower():
            raise InfraUnavailable(f"dbt compile could not open the DuckDB file (locked?):\n{detail}")
        raise FsyncError(f"dbt compile --inline failed:\n{detail}")
    start = proc.stdout.find("{")
    try:
        return str(json.loads(proc.stdout[start:])["compiled"])
    except (ValueError, KeyError):
        raise FsyncError(f"unexpected output of dbt compile --output json:\n{proc.stdout[-2000:]}") from None


def write_duckdb(
    sql: str, duckdb_path: Path, out: Path | None
) -> tuple[int, list[str], list[tuple[object, ...]]]:
    """Run on DuckDB; COPY to `out` (.parquet or .csv), else return the rows: (count, columns, rows)."""
    import duckdb

    con = open_duckdb(duckdb_path)
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set preserve_insertion_order = true")
        columns = [d[0] for d in con.execute(f"select * from ({sql}) as _t limit 0").description]
        if out is None:
            rows = con.execute(sql).fetchall()
            return len(rows), columns, rows
        return _copy(con, sql, out), columns, []
    except duckdb.Error as exc:
        raise FsyncError(f"the training-set query failed on DuckDB: {exc}") from None
    finally:
        con.close()


PG_TEMP_LABELS = "pg_temp.fsync_labels"
_TO_PG = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(38,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIME": "time",
}
_TO_DUCKDB = {
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "float4": "REAL",
    "float8": "DOUBLE",
    "bool": "BOOLEAN",
    "text": "VARCHAR",
    "varchar": "VARCHAR",
    "bpchar": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMPTZ",
    "time": "TIME",
}


def _pg_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric")
    return _TO_PG.get(duckdb_type, "text")


def file_relation(path: Path) -> str:
    """DuckDB's reader of a label file: read_parquet(...) or read_csv_auto(...)."""
    reader = "read_parquet" if path.suffix.lower() in (".parquet", ".pq") else "read_csv_auto"
    return f"{reader}('" + str(path.resolve()).replace("'", "''") + "')"


def write_postgres(
    sql: str, dsn: str, out: Path | None, labels_file: Path | None
) -> tuple[int, list[str], list[tuple[object, ...]]]:
    """Run on PostgreSQL (a label file is loaded into the temp table `pg_temp.fsync_labels` first); the result
    is staged in an in-memory DuckDB table with the same types and written like write_duckdb."""
    labels = file_relation(labels_file) if labels_file is not None else None
    local, count, columns = run_postgres(sql, dsn, labels)
    try:
        if out is None:
            return count, columns, local.execute("select * from t").fetchall()
        return _copy(local, "select * from t", out), columns, []
    finally:
        local.close()


def run_postgres(
    sql: str, dsn: str, labels: str | None, local: duckdb.DuckDBPyConnection | None = None
) -> tuple[duckdb.DuckDBPyConnection, int, list[str]]:
    """Run on PostgreSQL; `labels`, a relation of the local DuckDB connection (a file reader, or a registered
    Arrow table), is loaded into `pg_temp.fsync_labels` first. Returns the local DuckDB connection holding the
    result as table `t` with the same types, its row count and columns."""
    import duckdb
    import psycopg2
    from psycopg2.extras import execute_values

    con = open_postgres(dsn)
    local = local or duckdb.connect()
    try:
        with con.cursor() as cur:
            if labels is not None:
                described = local.execute(f"describe select * from {labels}").fetchall()
                cols = ", ".join(f"{quote(name)} {_pg_type(str(dtype))}" for name, dtype, *_ in described)
                cur.execute(f"create temp table fsync_labels ({cols})")
                rows = local.execute(f"select * from {labels}").fetchall()
                execute_values(cur, "insert into pg_temp.fsync_labels values %s", rows, page_size=1000)
            try:
                cur.execute(sql)
            except psycopg2.Error as exc:
                raise FsyncError(f"the training-set query failed on PostgreSQL: {str(exc).strip()}") from None
            description = cur.description
            result = cur.fetchall()
            oids = sorted({d.type_code for d in description})
            cur.execute("select oid, typname from pg_type where oid = any(%s)", (oids,))
            typnames = dict(cur.fetchall())
        columns = [d.name for d in description]
        types = []
        for d in description:
            name = typnames.get(d.type_code, "text")
            if name == "numeric":
                p, s = d.precision, d.scale
                types.append(f"DECIMAL({p},{s})" if p and 0 < p <= 38 and s is not None else "DOUBLE")
            else:
                types.append(_TO_DUCKDB.get(name, "VARCHAR"))
        local.execute(
            "create or replace table t ("
            + ", ".join(f"{quote(c)} {t}" for c, t in zip(columns, types, strict=True))
            + ")"
        )
        if result:
            local.executemany(f"insert into t values ({', '.join('?' for _ in columns)})", result)
        return local, len(result), columns
    except BaseException:
        local.close()
        raise
    finally:
        con.close()


def _copy(con: duckdb.DuckDBPyConnection, sql: str, out: Path) -> int:
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise FsyncError(f"--out {out}: write a .parquet or .csv file.")
    fmt = "(FORMAT parquet)" if suffix == ".parquet" else "(FORMAT csv, HEADER true)"
    out.parent.mkdir(parents=True, exist_ok=True)
    target = "'" + str(out.resolve()).replace("'", "''") + "'"
    count = con.execute(f"copy ({sql}) to {target} {fmt}").fetchone()  # COPY returns its row count
    return int(count[0]) if count else 0
