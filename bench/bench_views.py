"""Dense daily feature views (issue 12): rolling_agg's tiled formulation against hand-written SQL, and an
incremental one-day run against the full rebuild.

The view is the shape of every demo view: every user x every day at 00:00 UTC, windows 7d and 30d of
count_rows + sum(amount), and a 14d avg(amount). The macro SQL is what `dbt compile --inline` renders on the
duckdb target; every query is checked to give the same rows as the others before anything is timed.

    python bench/bench_views.py --scale S|M [--reps N] [--work-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    Timing,
    assert_same_result,
    compile_inline,
    materialize,
    reuse_generated,
    timed_run,
)

DATA_VERSION = 1
START = date(2024, 1, 1)
LOOKBACK_DAYS = 3  # the incremental run recomputes the last day plus this look-back


@dataclass(frozen=True)
class Scale:
    users: int
    days: int
    events: int


SCALES = {"S": Scale(10_000, 180, 1_000_000), "M": Scale(100_000, 365, 10_000_000)}


def generate(db_path: Path, scale: Scale) -> None:
    """bench.users and bench.purchases: events uniform over users and over the spine's days."""
    meta = f"v{DATA_VERSION} {scale}"
    if reuse_generated(db_path, meta):
        return
    span_us = scale.days * 86_400_000_000
    with duckdb.connect(str(db_path)) as con:
        con.execute(f"""
            create schema bench;
            create table bench.users as select u as user_id from range(1, {scale.users + 1}) as t(u);
            create table bench.purchases as
            select
              i as order_id,
              cast(hash(i, 'user') % {scale.users} + 1 as bigint) as user_id,
              timestamp '{START}' + to_microseconds(
                cast((hash(i, 'ts') % 1000000007) / 1000000007.0 * {span_us} as bigint)) as event_ts,
              case when hash(i, 'null') % 20 = 0 then null
                   else round((hash(i, 'amount') % 1000000007) / 1000000007.0 * 200, 2) end as amount
            from range({scale.events}) as t(i);
            create table bench.meta as select '{meta}' as meta;
        """)


AGGREGATIONS = ("[{'name': 'n', 'agg': 'count_rows', 'windows': ['7d', '30d']},"
                " {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount', 'windows': ['7d', '30d']},"
                " {'name': 'amount_avg', 'agg': 'avg', 'column': 'amount', 'windows': ['14d']}]")
OUTPUTS = ["n_7d", "n_30d", "amount_sum_7d", "amount_sum_30d", "amount_avg_14d"]


def macro_view(first_day: str, last_day: str, tiled: bool, bounded: bool) -> str:
    """The feature-view model: feature_spine + rolling_agg (tiled: spine_step='1d'; else bucketed)."""
    extra = (", spine_step='1d'" if tiled else "") + (f", spine_start=\"'{first_day}'\"" if bounded else "")
    return (
        "with spine as ({{ fstore.feature_spine('bench.users', ['user_id'], \"'" + first_day + "'\", \"'"
        + last_day + "'\", step='1d') }}) select * from ({{ fstore.rolling_agg('spine', 'bench.purchases', "
        "['user_id'], aggregations=" + AGGREGATIONS + extra + ") }}) as f"
    )


def _outputs_over(frame: dict[str, str]) -> str:
    return f"""
  cast(coalesce(sum(n) over {frame['7d']}, 0) as bigint) as n_7d,
  cast(coalesce(sum(n) over {frame['30d']}, 0) as bigint) as n_30d,
  coalesce(sum(s) over {frame['7d']}, 0) as amount_sum_7d,
  coalesce(sum(s) over {frame['30d']}, 0) as amount_sum_30d,
  cast(sum(s) over {frame['14d']} as double) / nullif(sum(na) over {frame['14d']}, 0) as amount_avg_14d"""


def hand_range_frame(first_day: str, last_day: str) -> str:
    """The union of events and spine rows, one RANGE window per width over event time, spine rows kept."""
    frame = {w: f"(partition by user_id order by ts range between interval {w[:-1]} day preceding "
                "and interval 1 microsecond preceding)" for w in ("7d", "14d", "30d")}
    return f"""
with spine as (
  select u.user_id, d.ts
  from bench.users as u
  cross join (select unnest(generate_series(timestamp '{first_day}', timestamp '{last_day}',
                                            interval 1 day)) as ts) d
),
u as (
  select user_id, ts, 1 as is_spine, null::bigint as n, null::bigint as na, null::decimal(38,2) as s
  from spine
  union all
  select user_id, event_ts, 0, 1, case when amount is null then 0 else 1 end, amount from bench.purchases
)
select user_id, ts as feature_ts, {_outputs_over(frame)}
from u
qualify is_spine = 1
"""


def hand_daily_tiling(first_day: str, last_day: str) -> str:
    """Events aggregated per (user, UTC day) once, then a ROWS window over the dense daily grid."""
    frame = {w: f"(partition by user_id order by day rows between {w[:-1]} preceding and 1 preceding)"
             for w in ("7d", "14d", "30d")}
    return f"""
with tiles as (
  select user_id, date_trunc('day', event_ts) as day, count(*) as n, count(amount) as na, sum(amount) as s
  from bench.purchases
  where event_ts >= timestamp '{first_day}' - interval 30 day
  group by all
),
grid as (
  select u.user_id, d.day
  from bench.users as u
  cross join (select unnest(generate_series(timestamp '{first_day}' - interval 30 day, timestamp '{last_day}',
                                            interval 1 day)) as day) d
),
dense as (
  select g.user_id, g.day, t.n, t.na, t.s from grid as g left join tiles as t using (user_id, day)
)
select user_id, day as feature_ts, {_outputs_over(frame)}
from dense
qualify day >= timestamp '{first_day}'
"""


@dataclass(frozen=True)
class Case:
    name: str
    sql: str


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=list(SCALES), default="S")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/bench_views"))
    args = parser.parse_args(argv)
    scale = SCALES[args.scale]
    first = START.isoformat()
    last = (START + timedelta(days=scale.days - 1)).isoformat()
    inc_first = (START + timedelta(days=scale.days - 1 - LOOKBACK_DAYS)).isoformat()

    dbt_dir = args.work_dir / "dbt"
    full = [
        Case("macro rolling_agg, tiled (spine_step='1d')",
             compile_inline(macro_view(first, last, True, False), dbt_dir)),
        Case("(context) macro rolling_agg, bucketed join",
             compile_inline(macro_view(first, last, False, False), dbt_dir)),
        Case("hand RANGE frame over events + spine", hand_range_frame(first, last)),
        Case("hand daily tiling", hand_daily_tiling(first, last)),
    ]
    # The one-day run uses the bucketed join (the README's pattern: spine_step only on full builds): over a
    # narrow spine it examines ~30 days of events per point, while the tiles walk every step of the window.
    incremental = [
        Case(f"macro one-day incremental, bucketed join (last day + {LOOKBACK_DAYS}d look-back, spine_start)",
             compile_inline(macro_view(inc_first, last, False, True), dbt_dir)),
        Case("(check) hand daily tiling of the same days", hand_daily_tiling(inc_first, last)),
        Case("(context) macro one-day incremental, tiled",
             compile_inline(macro_view(inc_first, last, True, True), dbt_dir)),
    ]
    db_path = args.work_dir / f"views_{args.scale}.duckdb"
    generate(db_path, scale)
    con = duckdb.connect(str(db_path), read_only=True)
    threads = con.execute("select current_setting('threads')").fetchone()[0]  # type: ignore[index]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"## Scale {args.scale}: {scale.users:,} users x {scale.days} days = "
          f"{scale.users * scale.days:,} spine rows, {scale.events:,} events; duckdb {duckdb.__version__}, "
          f"threads={threads}, load average {load}")

    for group in (full, incremental):
        materialize(con, "r0", group[0].sql)
        for i, c in enumerate(group[1:], 1):
            materialize(con, f"r{i}", c.sql)
            n = assert_same_result(con, "r0", f"r{i}", ["user_id", "feature_ts"])
            print(f"verified: {group[0].name} == {c.name} ({n:,} rows, every column)", flush=True)
        for i in range(len(group)):
            con.execute(f"drop table r{i}")

    cases = [*full, incremental[0], incremental[2]]
    timings = {c.name: Timing([], []) for c in cases}
    for _ in range(args.reps):
        for c in cases:
            timed_run(con, c.sql, timings[c.name])
    macro = timings[full[0].name]
    print("\n| scale | query | best s | median s | best CPU s | tiled macro / this (best) "
          "| tiled macro / this (CPU) |\n|---|---|---:|---:|---:|---:|---:|")
    for c in cases:
        t = timings[c.name]
        print(f"| {args.scale} | {c.name} | {t.best:.3f} | {t.median:.3f} | {t.best_cpu:.3f} "
              f"| {'' if c is full[0] else f'{macro.best / t.best:.2f}x'} "
              f"| {'' if c is full[0] else f'{macro.best_cpu / t.best_cpu:.2f}x'} |")
    tiling = timings[full[3].name].best
    inc = timings[incremental[0].name].best
    ok_tiled = macro.best <= tiling
    ok_inc = inc <= 0.05 * macro.best
    print(f"\n(best and median of {args.reps} runs, each materialized into a temp table)")
    print(f"{'PASS' if ok_tiled else 'FAIL'} tiled rolling_agg: {macro.best / tiling:.2f}x hand daily tiling "
          "(bar <= 1.0x)")
    print(f"{'PASS' if ok_inc else 'FAIL'} incremental one-day run: {inc / macro.best:.1%} of the full "
          "rebuild (bar <= 5%)")
    return 0 if ok_tiled and ok_inc else 1


if __name__ == "__main__":
    sys.exit(main())
