"""`fsync audit` on the demo: the three legacy purchase counts are classified by the rule each one breaks; a
legacy table planted under one known rule (computed here by brute force, independently of the macros) is named
by that rule; bad names are one-line user errors; PostgreSQL too."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
from fstore_testing.demo import DemoBuild

FEATURE = "user_purchase_features@2:purchase_count_30d"
UTC_LEGACY = ("--legacy", "legacy_purchase_count_utc", "--timestamp", "as_of")
PACIFIC_LEGACY = (
    "--legacy",
    "legacy_purchase_count_pacific",
    "--keys",
    "customer_id",
    "--timestamp",
    "pacific_day",
    "--column",
    "purchases_30d",
)
MONTHLY_LEGACY = (
    "--legacy",
    "legacy_purchase_count_monthly",
    "--timestamp",
    "served_at",
    "--column",
    "purchases_this_month",
)
PLANTED_SCHEMA = "audit_planted"


def audit(demo: DemoBuild, *args: str) -> tuple[int, dict[str, Any]]:
    result = demo.fsync("audit", "--feature", FEATURE, *args, "--json")
    return result.exit_code, json.loads(result.stdout)


def rule(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(r for r in report["rules"] if r["rule"] == name)


def test_team_a_utc_rolling_window_matches(duckdb_demo: DemoBuild) -> None:
    code, report = audit(duckdb_demo, *UTC_LEGACY)
    assert code == 0, report
    assert report["passed"] and report["match_rate"] >= 0.99
    assert report["rows"] > 70_000  # every (user, day) row of the legacy table is compared
    # The few differing rows are late data: the legacy counts today's versions, the canonical view those
    # known at the time.
    assert report["likely_cause"]["rules"] == ["final_data"]
    assert report["likely_cause"]["explained"] == 1.0
    assert rule(report, "wall_clock_anchor")["no_effect"]  # the rows are at midnight already
    assert report["distribution"]["psi"] < 0.001


def test_team_b_pacific_line_items_diverge(duckdb_demo: DemoBuild) -> None:
    code, report = audit(duckdb_demo, *PACIFIC_LEGACY)
    assert code == 1
    assert not report["passed"] and report["match_rate"] < 0.95
    assert report["keys"] == {"user_id": "customer_id"}
    cause = report["likely_cause"]
    assert cause["rules"] == ["local_time_zone", "no_dedup"]
    # the rest: 30 Pacific days are not 30 x 24 hours across a DST change
    assert cause["explained"] > 0.99 and cause["match_rate"] > 0.999
    assert report["distribution"]["legacy"]["mean"] > report["distribution"]["canonical"]["mean"]
    worst = report["worst"][0]
    assert abs(worst["legacy"] - worst["canonical"]) >= abs(report["worst"][-1]["difference"])


def test_team_c_calendar_month_cached_at_midnight_diverges(duckdb_demo: DemoBuild) -> None:
    code, report = audit(duckdb_demo, *MONTHLY_LEGACY)
    assert code == 1
    cause = report["likely_cause"]
    assert cause["rules"] == ["calendar_month", "wall_clock_anchor"]
    assert cause["explained"] == 1.0 and cause["unexplained_rows"] == 0
    assert rule(report, "calendar_month")["recomputed_with"] == "hand-rolled SQL, not canonical"
    assert rule(report, "wall_clock_anchor")["recomputed_with"] == "canonical macros"


def test_text_report_names_the_cause(duckdb_demo: DemoBuild) -> None:
    result = duckdb_demo.fsync("audit", "--feature", FEATURE, *MONTHLY_LEGACY, "--top", "3")
    assert result.exit_code == 1
    assert "-> DIVERGES" in result.stdout
    assert "likely cause: calendar_month + wall_clock_anchor" in result.stdout
    assert "PSI" in result.stdout


# --- a legacy table planted under one known rule ---

LA = ZoneInfo("America/Los_Angeles")


def _versions(demo: DemoBuild) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(demo.duckdb_path), read_only=True)
    try:
        return con.execute(
            "select order_id, line_item_id, user_id, ordered_at, returned_at, ingested_at"
            " from main.stg_purchase_versions"
        ).fetchall()
    finally:
        con.close()


def _reference(versions: list[tuple[Any, ...]], user: int, t: datetime, rule_name: str) -> int:
    """purchase_count_30d of user_purchase_features v2 at t, by brute force (docs/semantics.md: bitemporal,
    latest version known at t per line item, same-UTC-day returns excluded), under one alternative rule."""
    if rule_name == "local_time_zone":
        t = t.replace(tzinfo=LA).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    latest: dict[tuple[int, int], tuple[Any, ...]] = {}
    for v in versions:
        if v[2] == user and v[5] is not None and v[5] <= t:
            key = (v[0], v[1])
            if key not in latest or latest[key][5] < v[5]:
                latest[key] = v
    count = 0
    for _, _, _, ordered_at, returned_at, _ in latest.values():
        if ordered_at is None:
            continue
        if rule_name == "end_inclusive":
            in_window = t - timedelta(days=30) < ordered_at <= t
        elif rule_name == "calendar_month":
            in_window = t.replace(day=1, hour=0, minute=0, second=0, microsecond=0) <= ordered_at < t
        else:
            in_window = t - timedelta(days=30) <= ordered_at < t
        returned_same_day = returned_at is not None and returned_at.date() == ordered_at.date()
        if in_window and (rule_name == "null_counted" or not returned_same_day):
            count += 1
    return count


@pytest.mark.parametrize(
    ("planted", "seed"),
    [("end_inclusive", 11), ("local_time_zone", 12), ("null_counted", 13), ("calendar_month", 14)],
)
def test_planted_rule_is_named(duckdb_demo: DemoBuild, planted: str, seed: int) -> None:
    rng = random.Random(seed)
    versions = _versions(duckdb_demo)
    users = sorted({v[2] for v in versions})
    points: set[tuple[int, datetime]] = set()
    while len(points) < 150:
        user = rng.choice(users)
        mine = [v for v in versions if v[2] == user and v[3] is not None]
        if planted == "end_inclusive" and mine and rng.random() < 0.7:
            t = rng.choice(mine)[3]  # an event exactly at t: the inclusive end counts it
        else:
            t = datetime(2024, 1, 1) + timedelta(seconds=rng.randrange(330 * 86400))
            if planted == "local_time_zone" and t.date().isoformat() in ("2024-03-10", "2024-11-03"):
                continue  # a DST day: a wall time may not exist or happen twice
        points.add((user, t))
    rows = [(u, t, _reference(versions, u, t, planted)) for u, t in sorted(points)]
    table = f"planted_{planted}"
    con = duckdb.connect(str(duckdb_demo.duckdb_path))
    try:
        con.execute(f"create schema if not exists {PLANTED_SCHEMA}")
        con.execute(f"create or replace table {PLANTED_SCHEMA}.{table} (uid integer, ts timestamp, n bigint)")
        con.executemany(f"insert into {PLANTED_SCHEMA}.{table} values (?, ?, ?)", rows)
    finally:
        con.close()
    code, report = audit(
        duckdb_demo,
        "--legacy",
        f"{PLANTED_SCHEMA}.{table}",
        "--keys",
        "uid",
        "--timestamp",
        "ts",
        "--column",
        "n",
    )
    assert report["rows"] == 150
    assert report["matching_rows"] < 150, "the planted rule must change some rows"
    assert rule(report, planted)["match_rate"] == 1.0
    assert report["likely_cause"]["rules"] == [planted]
    assert report["likely_cause"]["explained"] == 1.0
    assert code == (0 if report["match_rate"] >= 0.99 else 1)


# --- user errors and outages ---


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (
            ("--legacy", "legacy_purchase_count_ut"),
            ["legacy_purchase_count_ut", "Did you mean 'legacy_purchase_count_utc'"],
        ),
        (("--legacy", "nowhere.at_all"), ["'nowhere.at_all'", "no such relation"]),
        ((*UTC_LEGACY[:2], "--timestamp", "asof"), ["--timestamp 'asof'", "Did you mean 'as_of'"]),
        ((*UTC_LEGACY, "--keys", "uid"), ["--keys 'uid'"]),
        ((*UTC_LEGACY, "--column", "purchases"), ["--column 'purchases'"]),
        ((*UTC_LEGACY, "--time-zone", "Pacific"), ["--time-zone 'Pacific'"]),
    ],
)
def test_bad_names_are_one_line_user_errors(
    duckdb_demo: DemoBuild, args: tuple[str, ...], names: list[str]
) -> None:
    result = duckdb_demo.fsync("audit", "--feature", FEATURE, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("fsync: error: ")
    for name in names:
        assert name in line
    as_json = duckdb_demo.fsync("audit", "--feature", FEATURE, *args, "--json")
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["error"]["kind"] == "user_error"


def test_unknown_feature_is_a_user_error(duckdb_demo: DemoBuild) -> None:
    result = duckdb_demo.fsync(
        "audit", "--feature", "user_purchase_features@2:purchase_cont_30d", *UTC_LEGACY
    )
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and "Did you mean 'purchase_count_30d'" in line
    result = duckdb_demo.fsync(
        "audit", "--feature", "user_purchase_featurs:purchase_count_30d", *UTC_LEGACY, "--json"
    )
    assert result.exit_code == 2
    assert "user_purchase_features" in json.loads(result.stdout)["error"]["message"]


def test_unreachable_warehouse_is_exit_3(duckdb_demo: DemoBuild) -> None:
    result = duckdb_demo.fsync(
        "audit",
        "--feature",
        FEATURE,
        *UTC_LEGACY,
        "--warehouse",
        "postgres",
        "--json",
        env={"FSYNC_POSTGRES_DSN": "postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2"},
    )
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "infra_unavailable" and "secret" not in error["message"]


@pytest.mark.postgres
def test_audit_on_postgres(pg_demo: DemoBuild) -> None:
    pg = ("--target", "postgres", "--profiles-dir", str(pg_demo.profiles_dir))
    code, report = audit(pg_demo, *MONTHLY_LEGACY, *pg)
    assert code == 1, report
    assert report["likely_cause"]["rules"] == ["calendar_month", "wall_clock_anchor"]
    assert report["likely_cause"]["explained"] == 1.0
    code, report = audit(pg_demo, *UTC_LEGACY, *pg)
    assert code == 0, report
    assert report["likely_cause"]["rules"] == ["final_data"]
