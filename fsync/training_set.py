"""`fsync training-set`: a point-in-time-correct training set from feature names, with fstore's macro.

The SQL is not a second implementation: it is `fstore.point_in_time_join` over `fstore.feature_view(...)`
entries, compiled by the real dbt (`dbt compile --inline`) against the project and target, so TTLs, keys and
timestamps come from each view's meta exactly as in the dbt training-set models. The result runs on the
warehouse and is written with DuckDB's COPY (Parquet or CSV); the macro keeps every label row in label order.

Feature spec: `view:feature,view@2:feature,...` (`@N` pins a model version; none means the latest).
Labels: a .csv/.parquet file (DuckDB reads it in place), a model/seed name of the project (`ref`), or any
relation SQL the warehouse understands (`main.my_labels`, `read_csv_auto('/abs/labels.csv')`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fsync.errors import FsyncError, InfraUnavailable
from fsync.lineage import Lineage, Node


@dataclass(frozen=True)
class ViewRequest:
    node: Node
    columns: tuple[str, ...]
    prefix: str


@dataclass(frozen=True)
class Request:
    labels: str  # a Jinja expression: ref('x') or a quoted relation string
    entity_keys: tuple[str, ...]
    label_timestamp: str
    views: tuple[ViewRequest, ...]

    def jinja(self) -> str:
        entries = ", ".join(
            f"fstore.feature_view({json.dumps(v.node.name)}"
            + (f", version={v.node.version}" if v.node.version is not None else "")
            + f", prefix={json.dumps(v.prefix)}, columns={json.dumps(list(v.columns))})"
            for v in self.views
        )
        return (
            f"{{{{ fstore.point_in_time_join(labels={self.labels},"
            f" entity_keys={json.dumps(list(self.entity_keys))},"
            f" label_timestamp={json.dumps(self.label_timestamp)}, feature_views=[{entries}]) }}}}"
        )


def parse_features(spec: str, lineage: Lineage, prefixes: dict[str, str]) -> tuple[ViewRequest, ...]:
    """`view[@N]:feature,...` -> one request per view version, in first-mentioned order."""
    grouped: dict[str, tuple[Node, list[str], str]] = {}
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        view, sep, feature = item.partition(":")
        if not sep or not feature:
            raise FsyncError(
                f"--features item {item!r}: write VIEW[@VERSION]:FEATURE,"
                " e.g. user_purchase_features@2:purchase_count_30d."
            )
        name, at, version = view.partition("@")
        target = lineage.resolve(f"{name}.{feature}{at}{version}")
        node = _one_version(view, target.nodes)
        if not node.is_feature_view:
            raise FsyncError(
                f"--features item {item!r}: {node.label} is not a feature view (no meta.feature_view)."
            )
        fv = node.feature_view_meta
        system = set(fv.get("entity_keys") or []) | {fv.get("timestamp"), fv.get("created_timestamp")}
        if feature in system:
            raise FsyncError(
                f"--features item {item!r}: {feature} is a key/timestamp column of {node.label},"
                " not a feature."
            )
        if node.label not in grouped:
            prefix = prefixes.get(view, prefixes.get(node.label, prefixes.get(node.name, f"{node.name}__")))
            grouped[node.label] = (node, [], prefix)
        if feature not in grouped[node.label][1]:
            grouped[node.label][1].append(feature)
    if not grouped:
        raise FsyncError("--features is empty; name at least one VIEW[@VERSION]:FEATURE.")
    used = [p for _, _, p in grouped.values()]
    if len(set(used)) != len(used):
        raise FsyncError(
            f"two views get the same column prefix ({', '.join(used)});"
            " give each its own with --prefix VIEW@N=PREFIX."
        )
    return tuple(ViewRequest(n, tuple(cols), p) for n, cols, p in grouped.values())


def _one_version(view: str, nodes: tuple[Node, ...]) -> Node:
    if len(nodes) == 1:
        return nodes[0]
    latest = [n for n in nodes if n.version is not None and n.version == n.latest_version]
    if latest:
        return latest[0]
    raise FsyncError(f"{view!r} has several versions and no latest_version; pin one with @N.")


def labels_expression(labels: str, lineage: Lineage, warehouse: str) -> str:
    path = Path(labels).expanduser()
    if path.suffix.lower() in (".csv", ".parquet", ".pq") or path.exists():
        if not path.exists():
            raise FsyncError(f"--labels file {path} does not exist.")
        if warehouse != "duckdb":
            raise FsyncError(
                f"--labels file {path}: on {warehouse} load the labels into a table first and pass its name."
            )
        reader = "read_parquet" if path.suffix.lower() in (".parquet", ".pq") else "read_csv_auto"
        literal = "'" + str(path.resolve()).replace("'", "''") + "'"
        return json.dumps(f"{reader}({literal})")
    named = [n for n in lineage.nodes.values() if n.kind in ("model", "seed") and n.name == labels]
    if named:
        return f"ref({json.dumps(labels)})"
    if "{{" in labels or "{%" in labels:
        raise FsyncError("--labels must be a file, a model name or a relation, not Jinja.")
    return json.dumps(labels)


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
    with tempfile.TemporaryDirectory(prefix="fsync-ts-") as tmp:
        cmd = [
            dbt_executable(),
            "compile",
            "--inline",
            request.jinja(),
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

    if not duckdb_path.exists():
        raise FsyncError(
            f"DuckDB warehouse file {duckdb_path} does not exist; run `dbt build` or set FSYNC_DUCKDB_PATH."
        )
    try:
        con = duckdb.connect(str(duckdb_path), read_only=True)
    except duckdb.IOException as exc:
        raise InfraUnavailable(f"cannot open DuckDB file {duckdb_path} (is `dbt` running?): {exc}") from None
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set preserve_insertion_order = true")
        columns = [d[0] for d in con.execute(f"select * from ({sql}) as _t limit 0").description]
        if out is None:
            rows = con.execute(sql).fetchall()
            return len(rows), columns, rows
        suffix = out.suffix.lower()
        if suffix not in (".parquet", ".csv"):
            raise FsyncError(f"--out {out}: write a .parquet or .csv file.")
        fmt = "(FORMAT parquet)" if suffix == ".parquet" else "(FORMAT csv, HEADER true)"
        out.parent.mkdir(parents=True, exist_ok=True)
        target = "'" + str(out.resolve()).replace("'", "''") + "'"
        count = con.execute(f"copy ({sql}) to {target} {fmt}").fetchone()  # COPY returns its row count
        return int(count[0]) if count else 0, columns, []
    except duckdb.Error as exc:
        raise FsyncError(f"the training-set query failed on DuckDB: {exc}") from None
    finally:
        con.close()
