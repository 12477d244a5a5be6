"""Offline macros (issue 2): fstore.point_in_time_join and fstore.rolling_agg against hand-written DuckDB SQL.

For each scale the script generates a deterministic data set in its own DuckDB file, compiles the macros
with real `dbt compile --inline`, checks every macro result equals its baselines, then times all queries in
this one process (round-robin, each result materialized into a temp table) and measures each query's peak
RSS in a fresh process.

    python bench/bench_offline.py --scale S|M|both [--reps N] [--work-dir DIR] [--explain]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    Timing,
    assert_same_result,
    compile_inline,
    materialize,
    peak_rss_bytes,
    reuse_generated,
    timed_run,
)

DATA_VERSION = 1
YEAR_US = 366 * 86_400 * 1_000_000  # 2024 is a leap year
GIB = 1024**3
WINDOWS = {"7d": 7, "30d": 30}
TTL_DAYS = 30


@dataclass(frozen=True)
class Scale:
    users: int
    purchases: int
    labels: int
    feature_rows_per_user: int = 10


SCALES = {
    "S": Scale(users=10_000, purchases=1_000_000, labels=100_000),
    "M": Scale(users=100_000, purchases=10_000_000, labels=1_000_000),
}


def _uniform(*args: str) -> str:
    """A deterministic pseudo-random double in [0, 1): hash-based, independent of thread scheduling."""
    return f"(hash({', '.join(args)}) % 1000000007) / 1000000007.0"


def generate(db_path: Path, scale: Scale) -> None:
    """bench.purchases (events over 2024), bench.labels (the spine), bench.user_features (10 per user)."""
    meta = f"v{DATA_VERSION} {scale}"
    if reuse_generated(db_path, meta):
        return
    slot_us = YEAR_US // scale.feature_rows_per_user
    with duckdb.connect(str(db_path)) as con:
        con.execute(f"""
            create schema bench;
            create table bench.purchases as
            select
              i as order_id,
              cast(hash(i, 'user') % {scale.users} + 1 as bigint) as user_id,
              timestamp '2024-01-01' + to_microseconds(cast({_uniform('i', "'ts'")} * {YEAR_US} as bigint))
                as event_ts,
              case when hash(i, 'null') % 20 = 0 then null
                   else round({_uniform('i', "'amount'")} * 200, 2) end as amount
            from range({scale.purchases}) as t(i);

            create table bench.labels as
            select
              i as label_id,
              cast(hash(i, 'label_user') % {scale.users} + 1 as bigint) as user_id,
              timestamp '2024-01-01'
                + to_microseconds(cast({_uniform('i', "'label_ts'")} * {YEAR_US} as bigint)) as label_ts,
              cast(hash(i, 'label') % 2 as integer) as label
            from range({scale.labels}) as t(i);

            -- One row per user and slot of 36.6 days, at a random point of the slot's first 30 days:
            -- strictly increasing feature_ts per user, gaps of 6.6 to 66.6 days, so the 30d TTL both matches
            -- and expires.
            create table bench.user_features as
            select
              u.user_id,
              timestamp '2024-01-01' + to_microseconds(
                k * {slot_us} + cast({_uniform('u.user_id', 'k', "'fts'")} * {30 * 86_400_000_000} as bigint))
                as feature_ts,
              case when hash(u.user_id, k, 'fnull') % 20 = 0 then null
                   else round({_uniform('u.user_id', 'k', "'famount'")} * 100, 2) end as f_amount,
              cast(hash(u.user_id, k, 'fcount') % 50 as bigint) as f_count
            from range(1, {scale.users + 1}) as u(user_id)
            cross join range({scale.feature_rows_per_user}) as s(k);

            create table bench.meta as select '{meta}' as meta;
        """)


# ----------------------------------------------------------------------------------------------------------
# The queries. Macro calls are compiled by dbt; baselines are what one writes by hand for the same result.

AGGS = [("n_purchases", "count_rows"), ("n_amount", "count"), ("amount_sum", "sum"), ("amount_avg", "avg")]

ROLLING_JINJA = (
    "{{ fstore.rolling_agg(spine='bench.labels', events='bench.purchases', entity_keys=['user_id'], "
    "aggregations=[" + ", ".join(
        f"{{'name': '{name}', 'agg': '{agg}'" + ("" if agg == "count_rows" else ", 'column': 'amount'") + "}"
        for name, agg in AGGS)
    + "], windows=[" + ", ".join(f"'{w}'" for w in WINDOWS) + "], "
    "spine_timestamp='label_ts', event_timestamp='event_ts', spine_columns=['label_id']) }}"
)

PIT_JINJA = (
    "{{ fstore.point_in_time_join(labels='bench.labels', entity_keys=['user_id'], feature_views=["
    f"{{'relation': 'bench.user_features', 'columns': ['f_amount', 'f_count'], 'ttl': '{TTL_DAYS}d'}}"
    "], label_timestamp='label_ts') }}"
)

PIT_ORDERED_JINJA = PIT_JINJA.replace("label_timestamp='label_ts') }}",
                                      "label_timestamp='label_ts', keep_label_order=true) }}")

PIT_ASOF = f"""
select
  l.*,
  case when f.feature_ts >= l.label_ts - interval {TTL_DAYS} day then f.feature_ts end as feature_ts,
  case when f.feature_ts >= l.label_ts - interval {TTL_DAYS} day then f.f_amount end as f_amount,
  case when f.feature_ts >= l.label_ts - interval {TTL_DAYS} day then f.f_count end as f_count
from bench.labels as l
asof left join bench.user_features as f
  on l.user_id = f.user_id and l.label_ts >= f.feature_ts
"""


def minus_days(engine: str, expr: str, days: int) -> str:
    """`expr` minus a number of days, as each engine of bench_engines.py spells it."""
    return {"duckdb": f"{expr} - interval {days} day",
            "postgres": f"{expr} - interval '{days} days'",
            "spark": f"{expr} - make_dt_interval({days})"}[engine]


def rolling_range_join(engine: str, schema: str) -> str:
    """Labels left-joined to the purchases of the widest window, then group by (CASE for narrower windows)."""
    widest = max(WINDOWS.values())
    cols = []
    for w, days in WINDOWS.items():
        def within(v: str, days: int = days) -> str:
            return v if days == widest else (
                f"case when p.event_ts >= {minus_days(engine, 'l.label_ts', days)} then {v} end")
        cols += [f"count({within('p.order_id')}) as n_purchases_{w}",
                 f"count({within('p.amount')}) as n_amount_{w}",
                 f"coalesce(sum({within('p.amount')}), 0) as amount_sum_{w}",
                 f"avg({within('p.amount')}) as amount_avg_{w}"]
    return f"""
select l.user_id, l.label_id, l.label_ts,
  {(',' + chr(10) + '  ').join(cols)}
from {schema}.labels as l
left join {schema}.purchases as p
  on p.user_id = l.user_id
  and p.event_ts >= {minus_days(engine, 'l.label_ts', widest)}
  and p.event_ts < l.label_ts
group by l.label_id, l.user_id, l.label_ts
"""


def _rolling_prefix_asof() -> str:
    """Running totals per user, then per window `total(before t) - total(before t - W)`, by ASOF joins."""
    starts = ", ".join(f"label_ts - interval {d} day as start_{w}" for w, d in WINDOWS.items())
    joins = "\n".join(
        f"asof left join cum as b_{w} on l.user_id = b_{w}.user_id and l.start_{w} > b_{w}.event_ts"
        for w in WINDOWS)
    cols = []
    for w in WINDOWS:
        def diff(c: str, w: str = w) -> str:
            return f"(coalesce(e.{c}, 0) - coalesce(b_{w}.{c}, 0))"
        cols += [f"cast({diff('c_rows')} as bigint) as n_purchases_{w}",
                 f"cast({diff('c_n')} as bigint) as n_amount_{w}",
                 f"{diff('c_sum')} as amount_sum_{w}",
                 f"case when {diff('c_n')} > 0 then {diff('c_sum')} / {diff('c_n')} end as amount_avg_{w}"]
    return f"""
with per_ts as (
  select user_id, event_ts, count(*) as n_rows, count(amount) as n_amount, coalesce(sum(amount), 0) as s
  from bench.purchases
  group by user_id, event_ts
),
cum as (
  select user_id, event_ts,
    sum(n_rows) over w as c_rows, sum(n_amount) over w as c_n, sum(s) over w as c_sum
  from per_ts
  window w as (partition by user_id order by event_ts rows between unbounded preceding and current row)
),
l as (select user_id, label_id, label_ts, {starts} from bench.labels)
select l.user_id, l.label_id, l.label_ts,
  {(',' + chr(10) + '  ').join(cols)}
from l
asof left join cum as e on l.user_id = e.user_id and l.label_ts > e.event_ts
{joins}
"""


@dataclass(frozen=True)
class Case:
    group: str
    name: str
    sql: str
    macro: bool
    in_bar: bool = True  # False: shown for context, not a baseline of the bar


@dataclass(frozen=True)
class Bar:
    group: str
    max_ratio: float  # macro best wall time / fastest baseline's best wall time
    max_peak_bytes: int | None
    text: str


BARS = [
    Bar("point_in_time_join", 1.0, None, "<= 1.0x ASOF LEFT JOIN"),
    Bar("rolling_agg", 1.0, 4 * GIB, "<= 1.0x best baseline, peak <= 4 GiB"),
]


def build_cases(work_dir: Path) -> list[Case]:
    pit = compile_inline(PIT_JINJA, work_dir / "dbt")
    pit_ordered = compile_inline(PIT_ORDERED_JINJA, work_dir / "dbt")
    rolling = compile_inline(ROLLING_JINJA, work_dir / "dbt")
    return [
        Case("point_in_time_join", "macro point_in_time_join", pit, True),
        Case("point_in_time_join", "hand ASOF LEFT JOIN", PIT_ASOF, False),
        # keep_label_order=true restores the labels' order (fsync's readers): what that order costs.
        Case("point_in_time_join", "(context) macro, keep_label_order=true", pit_ordered, False,
             in_bar=False),
        Case("point_in_time_join", "(context) hand ASOF + order by label_id",
             PIT_ASOF + "order by l.label_id\n", False, in_bar=False),
        Case("rolling_agg", "macro rolling_agg", rolling, True),
        Case("rolling_agg", "hand range join + group by", rolling_range_join("duckdb", "bench"), False),
        Case("rolling_agg", "hand prefix sums + ASOF", _rolling_prefix_asof(), False),
    ]


# ----------------------------------------------------------------------------------------------------------

def run_scale(label: str, scale: Scale, cases: list[Case], reps: int, work_dir: Path, explain: bool) -> bool:
    db_path = work_dir / f"offline_{label}.duckdb"
    start = time.perf_counter()
    generate(db_path, scale)
    print(f"\n## Scale {label}: {scale.users:,} users, {scale.purchases:,} purchases, "
          f"{scale.labels:,} labels, "
          f"{scale.users * scale.feature_rows_per_user:,} feature rows (data ready in "
          f"{time.perf_counter() - start:.1f} s, {db_path})", flush=True)

    con = duckdb.connect(str(db_path), read_only=True)
    threads, mem_limit = con.execute(
        "select current_setting('threads'), current_setting('memory_limit')").fetchone()  # type: ignore[misc]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"duckdb {duckdb.__version__}, threads={threads}, memory_limit={mem_limit}, {os.cpu_count()} CPUs, "
          f"load average {load}", flush=True)

    # Correctness first: one run of each query (it also warms the cache), macro compared with every baseline.
    tables = {c.name: f"r{i}" for i, c in enumerate(cases)}
    for c in cases:
        materialize(con, tables[c.name], c.sql)
    for group in dict.fromkeys(c.group for c in cases):
        macro = next(c for c in cases if c.group == group and c.macro)
        for base in (c for c in cases if c.group == group and not c.macro):
            n = assert_same_result(con, tables[macro.name], tables[base.name], ["label_id"])
            print(f"verified: {macro.name} == {base.name} ({n:,} rows, every column)", flush=True)
    for t in tables.values():
        con.execute(f"drop table {t}")

    if explain:
        for c in cases:
            plan = con.execute(f"explain analyze {c.sql}").fetchall()
            path = work_dir / f"explain_{label}_{c.name.replace(' ', '_').replace('+', '')}.txt"
            path.write_text("\n".join(str(row[-1]) for row in plan))
            print(f"EXPLAIN ANALYZE of {c.name}: {path}")

    # Round-robin so that drift (cache, other processes on the machine) hits every query alike.
    timings = {c.name: Timing([], []) for c in cases}
    for _ in range(reps):
        for c in cases:
            timed_run(con, c.sql, timings[c.name])
    con.close()

    idle, _ = peak_rss_bytes(db_path, "select 1")
    peaks = {c.name: peak_rss_bytes(db_path, c.sql)[0] for c in cases}

    print("\n| scale | query | best s | median s | best CPU s | macro / this (best) | macro / this (CPU) "
          "| peak RSS MiB |\n|---|---|---:|---:|---:|---:|---:|---:|")
    ok = True
    verdicts = []
    for bar in BARS:
        group = [c for c in cases if c.group == bar.group]
        macro = timings[next(c for c in group if c.macro).name]
        macro_peak = peaks[next(c for c in group if c.macro).name]
        fastest = min((c for c in group if c.in_bar and not c.macro), key=lambda c: timings[c.name].best)
        ratio = macro.best / timings[fastest.name].best
        for c in group:
            t = timings[c.name]
            vs = ("", "") if c.macro else (f"{macro.best / t.best:.2f}x",
                                           f"{macro.best_cpu / t.best_cpu:.2f}x")
            print(f"| {label} | {c.name} | {t.best:.3f} | {t.median:.3f} | {t.best_cpu:.3f} "
                  f"| {vs[0]} | {vs[1]} | {peaks[c.name] / 2**20:,.0f} |")
        passed = ratio <= bar.max_ratio and (bar.max_peak_bytes is None or macro_peak <= bar.max_peak_bytes)
        ok &= passed
        verdicts.append(f"{'PASS' if passed else 'FAIL'} {label} {bar.group}: {ratio:.2f}x {fastest.name} "
                        f"(bar {bar.text}; macro peak {macro_peak / GIB:.2f} GiB)")
    print(f"\n(best and median of {reps} runs; peak RSS of a fresh process running the query alone, of which "
          f"{idle / 2**20:,.0f} MiB is the idle process with the database open)")
    for v in verdicts:
        print(v)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=["S", "M", "both"], default="S")
    parser.add_argument("--reps", type=int, default=5,
                        help="timed runs per query (after one verification run)")
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/bench_offline"),
                        help="data files, dbt target/logs and EXPLAIN output go here")
    parser.add_argument("--explain", action="store_true", help="write EXPLAIN ANALYZE of every query")
    args = parser.parse_args(argv)

    cases = build_cases(args.work_dir)
    labels = ["S", "M"] if args.scale == "both" else [args.scale]
    passed = {label: run_scale(label, SCALES[label], cases, args.reps, args.work_dir, args.explain)
              for label in labels}
    print("\nThe bars are set at scale M; S is reported for reference (exit status: M's verdict).")
    return 0 if passed.get("M", True) else 1


if __name__ == "__main__":
    sys.exit(main())
