"""Offline macros on three engines (issue 11): fstore.point_in_time_join and fstore.rolling_agg on DuckDB,
PostgreSQL and local Spark, side by side, each against a hand-written baseline on the same engine.

The data set is bench_offline.py's (same generator, same scale S/M), written once by DuckDB and loaded into
each engine: DuckDB reads its own file, PostgreSQL gets it by COPY, Spark reads the Parquet files DuckDB
exported (tables registered in the bench's own Derby metastore). The macro SQL is what real
`dbt compile --inline` renders on each engine's target of profiles.example.yml. Every macro result is first
checked against the engine's baselines and against the DuckDB macro result (same rows, every column), then
timed.

    python bench/bench_engines.py [--scale S|M] [--reps N] [--engines duckdb,postgres,spark] [--work-dir DIR]

PostgreSQL: FSTORE_PG_HOST/PORT/USER/PASSWORD/DATABASE (default postgres@127.0.0.1:5432/test), schema
`fstore_bench_<pid>`, dropped at the end. Spark: pyspark from the `spark` extra, Java 17, local[2].
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import assert_same_result, compile_inline  # noqa: E402
from bench_offline import (  # noqa: E402
    PIT_JINJA,
    ROLLING_JINJA,
    SCALES,
    TTL_DAYS,
    generate,
    minus_days,
    rolling_range_join,
)

TABLES = ("purchases", "labels", "user_features")


# ----------------------------------------------------------------------------------------------------------
# Hand-written baselines: what one writes on each engine for the same result (schema `bench`, or `schema`).

def pit_baseline(engine: str, schema: str) -> tuple[str, str]:
    """(name, SQL) of the natural hand-written as-of join with the TTL on each engine."""
    start = minus_days(engine, "l.label_ts", TTL_DAYS)
    if engine == "duckdb":
        alive = f"f.feature_ts >= {start}"
        return "hand ASOF LEFT JOIN", f"""
select l.*,
  case when {alive} then f.feature_ts end as feature_ts,
  case when {alive} then f.f_amount end as f_amount,
  case when {alive} then f.f_count end as f_count
from {schema}.labels as l
asof left join {schema}.user_features as f on l.user_id = f.user_id and l.label_ts >= f.feature_ts
"""
    range_join = f"""
from {schema}.labels as l
left join {schema}.user_features as f
  on f.user_id = l.user_id and f.feature_ts <= l.label_ts and f.feature_ts >= {start}"""
    if engine == "postgres":
        return "hand DISTINCT ON range join", f"""
select distinct on (l.label_id) l.*, f.feature_ts, f.f_amount, f.f_count{range_join}
order by l.label_id, f.feature_ts desc
"""
    return "hand range join + QUALIFY row_number", f"""
select l.*, f.feature_ts, f.f_amount, f.f_count{range_join}
qualify row_number() over (partition by l.label_id order by f.feature_ts desc) = 1
"""


# ----------------------------------------------------------------------------------------------------------
# Engines: load the tables, run a query to completion, export a result for the comparison.

@dataclass
class Runner:
    name: str
    schema: str  # where the bench tables are
    run: Callable[[str], None]  # produce every row of the query (materialized, or written nowhere)
    export: Callable[[str, Path], None]  # write the query's result as Parquet (or CSV) at the path
    close: Callable[[], None]
    version: str


def duckdb_runner(db_path: Path) -> Runner:
    con = duckdb.connect(str(db_path), read_only=True)

    def run(sql: str) -> None:
        con.execute(f"create or replace temp table _bench_t as {sql}")
        con.execute("drop table _bench_t")

    def export(sql: str, path: Path) -> None:
        con.execute(f"copy ({sql}) to '{path}' (format parquet)")

    return Runner("duckdb", "bench", run, export, con.close, f"DuckDB {duckdb.__version__}")


def postgres_runner(db_path: Path, work_dir: Path) -> Runner:
    import psycopg2

    schema = f"fstore_bench_{os.getpid()}"
    con = psycopg2.connect(
        host=os.environ.get("FSTORE_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("FSTORE_PG_PORT", "5432")),
        user=os.environ.get("FSTORE_PG_USER", "postgres"), password=os.environ.get("FSTORE_PG_PASSWORD", ""),
        dbname=os.environ.get("FSTORE_PG_DATABASE", "test"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"drop schema if exists {schema} cascade; create schema {schema}")
    src = duckdb.connect(str(db_path), read_only=True)
    pg_types = {"BIGINT": "bigint", "INTEGER": "integer", "TIMESTAMP": "timestamp",
                "DOUBLE": "double precision"}
    try:
        for table in TABLES:
            cols = src.execute(f"select column_name, column_type from (describe bench.{table})").fetchall()
            ddl = ", ".join(f"{c} {pg_types.get(t, t.lower())}" for c, t in cols)
            cur.execute(f"create table {schema}.{table} ({ddl})")
            csv_path = work_dir / f"{table}.csv"
            src.execute(f"copy bench.{table} to '{csv_path}' (header, nullstr '')")
            with csv_path.open() as f:
                cur.copy_expert(f"copy {schema}.{table} from stdin with (format csv, header true)", f)
            cur.execute(f"analyze {schema}.{table}")
    except BaseException:
        cur.execute(f"drop schema if exists {schema} cascade")
        raise
    finally:
        src.close()

    def run(sql: str) -> None:
        cur.execute(f"create temp table _bench_t as {sql}")
        cur.execute("drop table _bench_t")

    def export(sql: str, path: Path) -> None:
        csv_path = path.with_suffix(".csv")
        with csv_path.open("w") as f:
            cur.copy_expert(f"copy ({sql}) to stdout with (format csv, header true)", f)
        with duckdb.connect() as d:
            d.execute(f"copy (select * from read_csv('{csv_path}')) to '{path}' (format parquet)")

    def close() -> None:
        cur.execute(f"drop schema if exists {schema} cascade")
        con.close()

    cur.execute("show server_version")
    return Runner("postgres", schema, run, export, close, f"PostgreSQL {cur.fetchone()[0]}")  # type: ignore[index]


def spark_conf(work_dir: Path) -> dict[str, str]:
    """The settings of profiles.example.yml's spark target, with the bench's own warehouse and metastore."""
    return {
        "spark.master": "local[2]", "spark.sql.session.timeZone": "UTC",
        "spark.sql.timestampType": "TIMESTAMP_NTZ",
        "spark.sql.sources.default": "parquet", "spark.sql.warehouse.dir": str(work_dir / "spark-warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={work_dir / 'metastore_db'};create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.stream.error.file={work_dir / 'derby.log'}",
        "spark.driver.memory": "4g", "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.ansi.enabled": "false",  # as dbt-spark's session mode sets it
    }


def spark_runner(db_path: Path, work_dir: Path) -> Runner:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf(work_dir).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    src = duckdb.connect(str(db_path), read_only=True)
    spark.sql("create schema if not exists bench")
    for table in TABLES:
        location = work_dir / "parquet" / table
        shutil.rmtree(location, ignore_errors=True)
        location.mkdir(parents=True)
        src.execute(f"copy bench.{table} to '{location / 'data.parquet'}' (format parquet)")
        spark.sql(f"drop table if exists bench.{table}")
        spark.sql(f"create table bench.{table} using parquet location '{location}'")
    src.close()

    def run(sql: str) -> None:
        spark.sql(sql).write.format("noop").mode("overwrite").save()  # every row produced, nothing written

    def export(sql: str, path: Path) -> None:
        out = path.with_suffix(".spark")
        spark.sql(sql).write.mode("overwrite").parquet(str(out))
        with duckdb.connect() as d:
            d.execute(f"copy (select * from read_parquet('{out}/*.parquet')) to '{path}' (format parquet)")

    return Runner("spark", "bench", run, export, spark.stop, f"Spark {spark.version} (local[2])")


# ----------------------------------------------------------------------------------------------------------

def compile_for(engine: str, jinja: str, schema: str, work_dir: Path) -> str:
    """The macro SQL that dbt compiles on `engine`'s target, with the bench tables in `schema`."""
    env = {}
    if engine == "spark":  # a metastore of its own: the bench's Spark session holds its own one
        env = {"FSTORE_SPARK_WAREHOUSE": str(work_dir / "dbt-spark-warehouse"),
               "FSTORE_SPARK_METASTORE": str(work_dir / "dbt_metastore_db")}
    return compile_inline(jinja.replace("bench.", f"{schema}."), work_dir / f"dbt_{engine}", target=engine,
                          env=env)


@dataclass
class Result:
    engine: str
    group: str
    name: str
    macro: bool
    rows: int = 0
    wall: list[float] = field(default_factory=list)


def bench_engine(runner: Runner, work_dir: Path, reps: int, reference: dict[str, Path]) -> list[Result]:
    engine, schema = runner.name, runner.schema
    pit, rolling = (compile_for(engine, j, schema, work_dir) for j in (PIT_JINJA, ROLLING_JINJA))
    cases = [
        ("point_in_time_join", "macro point_in_time_join", pit, True),
        ("point_in_time_join", *pit_baseline(engine, schema), False),
        ("rolling_agg", "macro rolling_agg", rolling, True),
        ("rolling_agg", "hand range join + group by", rolling_range_join(engine, schema), False),
    ]
    rows: dict[str, int] = {}
    check = duckdb.connect()
    for group in ("point_in_time_join", "rolling_agg"):
        group_cases = [c for c in cases if c[0] == group]
        paths = {}
        for _, name, sql, _macro in group_cases:
            paths[name] = work_dir / f"result_{engine}_{group}_{name.replace(' ', '_')}.parquet"
            runner.export(sql, paths[name])
            check.execute(f"create or replace table \"{name}\" as from read_parquet('{paths[name]}')")
            rows[name] = check.execute(f'select count(*) from "{name}"').fetchone()[0]  # type: ignore[index]
        macro_name = next(name for g, name, _, m in group_cases if m)
        for _, name, _, macro in group_cases:
            if not macro:
                n = assert_same_result(check, f'"{macro_name}"', f'"{name}"', ["label_id"])
                print(f"{engine}: verified {macro_name} == {name} ({n:,} rows, every column)", flush=True)
        if group in reference:
            check.execute(f"create or replace table duckdb_macro as from read_parquet('{reference[group]}')")
            n = assert_same_result(check, "duckdb_macro", f'"{macro_name}"', ["label_id"])
            print(f"{engine}: verified {macro_name} == DuckDB's ({n:,} rows, every column)", flush=True)
        else:
            reference[group] = paths[macro_name]
    check.close()

    results = [Result(engine, g, name, macro, rows[name]) for g, name, _, macro in cases]
    for _ in range(reps):  # round-robin: drift hits every query alike
        for (_, _, sql, _), r in zip(cases, results, strict=True):
            start = time.perf_counter()
            runner.run(sql)
            r.wall.append(time.perf_counter() - start)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["S", "M"], default="S")
    parser.add_argument("--reps", type=int, default=3,
                        help="timed runs per query (after one verification run)")
    parser.add_argument("--engines", default="duckdb,postgres,spark")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/bench_engines"))
    args = parser.parse_args(argv)
    engines = args.engines.split(",")
    work_dir: Path = args.work_dir
    work_dir.mkdir(parents=True, exist_ok=True)
    scale = SCALES[args.scale]
    db_path = work_dir / f"offline_{args.scale}.duckdb"
    generate(db_path, scale)
    print(f"scale {args.scale}: {scale.users:,} users, {scale.purchases:,} purchases, "
          f"{scale.labels:,} labels, "
          f"{scale.users * scale.feature_rows_per_user:,} feature rows; {os.cpu_count()} CPUs, load average "
          + ", ".join(f"{x:.2f}" for x in os.getloadavg()), flush=True)

    makers: dict[str, Callable[[], Runner]] = {
        "duckdb": lambda: duckdb_runner(db_path),
        "postgres": lambda: postgres_runner(db_path, work_dir),
        "spark": lambda: spark_runner(db_path, work_dir),
    }
    reference: dict[str, Path] = {}
    results: list[Result] = []
    versions = []
    # DuckDB first: its macro result is the reference every other engine's macro result must equal.
    for engine in ["duckdb", *[e for e in engines if e != "duckdb"]]:
        start = time.perf_counter()
        runner = makers[engine]()
        print(f"{runner.version}: data loaded in {time.perf_counter() - start:.1f} s", flush=True)
        versions.append(runner.version)
        try:
            results += bench_engine(runner, work_dir, args.reps, reference)
        finally:
            runner.close()

    print(f"\n{', '.join(versions)}; best and median of {args.reps} runs, wall seconds, "
          "every row materialized\n")
    print("| scale | engine | query | rows | best s | median s | macro / this (best) |")
    print("|---|---|---|---:|---:|---:|---:|")
    for r in results:
        if r.engine not in engines:
            continue
        macro = next(m for m in results if m.engine == r.engine and m.group == r.group and m.macro)
        ratio = "" if r.macro else f"{min(macro.wall) / min(r.wall):.2f}x"
        print(f"| {args.scale} | {r.engine} | {r.name} | {r.rows:,} | {min(r.wall):.3f} "
              f"| {statistics.median(r.wall):.3f} | {ratio} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
