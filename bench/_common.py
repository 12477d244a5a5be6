"""Shared helpers for the bench/ scripts: compile macro SQL with real dbt, time queries, measure peak memory.

Run as a script (`python bench/_common.py --child DB SQL_FILE`) it is the child process that executes one
query for the peak-memory measurement.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def compile_inline(jinja: str, work_dir: Path, target: str = "duckdb",
                   env: dict[str, str] | None = None) -> str:
    """The SQL that `dbt compile --inline` renders for `jinja` on `target` of profiles.example.yml.

    dbt runs in its own process, against its own throwaway DuckDB file, target and log paths (several agents
    share the repository). Relations passed to the macros as strings are not introspected: it stays empty.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    dbt = VENV_BIN / "dbt"
    profiles_dir = work_dir / "profiles"
    profiles_dir.mkdir(exist_ok=True)
    shutil.copy(PROJECT_DIR / "profiles.example.yml", profiles_dir / "profiles.yml")
    env = dict(os.environ, FSTORE_DUCKDB_PATH=str(work_dir / "dbt_compile.duckdb"),
               DBT_PROFILES_DIR=str(profiles_dir), **(env or {}))
    cmd = [str(dbt if dbt.exists() else "dbt"), "compile", "--target", target,
           "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
           "--no-send-anonymous-usage-stats", "--log-format", "json", "--output", "json", "--inline", jinja]
    proc = subprocess.run(cmd, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"dbt compile failed ({proc.returncode}) for {jinja!r}:\n{proc.stdout}\n{proc.stderr}")
    for line in proc.stdout.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event.get("info", {}).get("name") == "CompiledNode":
            return str(event["data"]["compiled"])
    raise RuntimeError(f"dbt compile printed no CompiledNode event for {jinja!r}:\n{proc.stdout}")


@dataclass
class Timing:
    wall: list[float]
    cpu: list[float]  # CPU seconds of this process (all DuckDB threads)

    @property
    def best(self) -> float:
        return min(self.wall)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def best_cpu(self) -> float:
        return min(self.cpu)


def reuse_generated(db_path: Path, meta: str) -> bool:
    """True when `db_path` already holds the data `meta` describes (bench.meta); otherwise remove the stale
    file so the caller generates it again."""
    if db_path.exists():
        with duckdb.connect(str(db_path), read_only=True) as con:
            try:
                if con.execute("select meta from bench.meta").fetchone() == (meta,):
                    return True
            except duckdb.CatalogException:
                pass
        db_path.unlink()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return False


def materialize(con: duckdb.DuckDBPyConnection, table: str, sql: str) -> float:
    """Seconds to run `sql` into a temp table: every row is produced, so DuckDB cannot skip work."""
    start = time.perf_counter()
    con.execute(f"create or replace temp table {table} as {sql}")
    return time.perf_counter() - start


def timed_run(con: duckdb.DuckDBPyConnection, sql: str, timing: Timing) -> None:
    """One materialized run of `sql`, appended to `timing` (wall and CPU seconds)."""
    cpu = time.process_time()
    timing.wall.append(materialize(con, "_bench_timed", sql))
    timing.cpu.append(time.process_time() - cpu)
    con.execute("drop table _bench_timed")


def peak_rss_bytes(db_path: Path, sql: str) -> tuple[int, float]:
    """Peak resident memory (bytes) and seconds of a fresh process opening `db_path` and materializing `sql`.

    The child reads its own VmHWM: ru_maxrss is no good here, since a forked child's maximum starts from the
    parent's resident size at fork time and survives the exec.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(sql)
        sql_file = f.name
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", str(db_path), sql_file],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"peak-memory child failed:\n{proc.stdout}\n{proc.stderr}")
        result = json.loads(proc.stdout)
        return int(result["peak_bytes"]), float(result["seconds"])
    finally:
        os.unlink(sql_file)


def _vm_hwm_bytes() -> int:
    match = re.search(r"^VmHWM:\s+(\d+) kB$", Path("/proc/self/status").read_text(), re.MULTILINE)
    if not match:
        raise RuntimeError("no VmHWM in /proc/self/status (peak memory is measured on Linux only)")
    return int(match.group(1)) * 1024


def assert_same_result(con: duckdb.DuckDBPyConnection, left: str, right: str, key: Sequence[str],
                       tolerance: float = 1e-6) -> int:
    """Check two tables hold the same rows, matched on the unique `key`: same columns, same row count, every
    column equal (NULL = NULL; floating-point columns within `tolerance`, relative above 1: summation order
    differs between plans).
    Returns the row count; raises AssertionError naming the first differing column and an example row.
    """
    def columns(table: str) -> dict[str, str]:
        rows = con.execute(f"select column_name, column_type from (describe {table})").fetchall()
        return {name.lower(): dtype for name, dtype in rows}

    lcols, rcols = columns(left), columns(right)
    if set(lcols) != set(rcols):
        raise AssertionError(f"{left} and {right} have different columns: {sorted(lcols)} vs {sorted(rcols)}")
    counts = {}
    for t in (left, right):
        n, distinct = con.execute(
            f"select count(*), count(distinct ({', '.join(key)})) from {t}").fetchone()  # type: ignore[misc]
        if n != distinct:
            raise AssertionError(f"{t}: key ({', '.join(key)}) is not unique ({n} rows, {distinct} keys)")
        counts[t] = n
    if counts[left] != counts[right]:
        raise AssertionError(f"row counts differ: {left} {counts[left]}, {right} {counts[right]}")
    on = " and ".join(f"a.{k} = b.{k}" for k in key)
    for col, dtype in lcols.items():
        if dtype in ("DOUBLE", "FLOAT", "REAL"):
            differs = (f"not ((a.{col} is null and b.{col} is null) or "
                       f"abs(a.{col} - b.{col}) <= {tolerance} * greatest(1, abs(a.{col})))")
        else:
            differs = f"a.{col} is distinct from b.{col}"
        bad = con.execute(
            f"select count(*), any_value(a.{key[0]}), any_value(a.{col}), any_value(b.{col}) "
            f"from {left} a full join {right} b on {on} where {differs}").fetchone()
        if bad and bad[0]:
            raise AssertionError(f"{left} vs {right}: column {col} differs on {bad[0]} rows, e.g. "
                                 f"{key[0]}={bad[1]}: {bad[2]!r} vs {bad[3]!r}")
    return counts[left]


def _child(db_path: str, sql_file: str) -> None:
    sql = Path(sql_file).read_text()
    con = duckdb.connect(db_path, read_only=True)
    seconds = materialize(con, "_bench_peak", sql)
    print(json.dumps({"seconds": seconds, "peak_bytes": _vm_hwm_bytes()}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        sys.exit("usage: _common.py --child DB_PATH SQL_FILE (internal: run by peak_rss_bytes)")
