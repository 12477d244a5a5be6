"""Freshness on the demo: `fsync freshness` (ok / warn / breach, warehouse and online, exit codes, JSON), the
push's freshness warnings, the Python API, and the dbt test `fstore.freshness_within_sla` (warn and error
like `dbt source freshness`). The demo's spine ends on 2024-12-01 00:00; its views have ttl 2d and SLA 26h
(warn from 80 %: 20h48m)."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fstore_testing.demo import DemoBuild
from fstore_testing.stores import store_settings

from fsync.monitoring.freshness import check_freshness
from fsync.online.freshness import BREACH, OK, WARN, freshness_status

VIEWS = ["user_purchase_features@1", "user_purchase_features@2", "user_session_features"]
NEWEST = datetime(2024, 12, 1)
SLA_S = 26 * 3600


def _json(demo: DemoBuild, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    res = demo.fsync(*args, "--json", env=env)
    return res.exit_code, json.loads(res.stdout)


def _alive_users(demo: DemoBuild, as_of: datetime) -> int:
    """Users whose latest row at as_of is within the 2d TTL, straight from the warehouse."""
    con = duckdb.connect(str(demo.duckdb_path), read_only=True)
    try:
        row = con.execute(
            "select count(*) from (select user_id, max(feature_ts) as ts"
            f" from {demo.schema}.user_session_features where feature_ts <= ? group by user_id)"
            " where ts >= ?",
            [as_of, as_of - timedelta(days=2)],
        ).fetchone()
    finally:
        con.close()
    assert row is not None
    return int(row[0])


@pytest.fixture(params=["sqlite", "redis"])
def env(request: pytest.FixtureRequest, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return store_settings(str(request.param), redis_url, tmp_path)


def test_the_rule_at_its_edges() -> None:
    assert freshness_status(None, SLA_S) == BREACH  # no row at all
    assert freshness_status(0.8 * SLA_S - 1e-6, SLA_S) == OK
    assert freshness_status(0.8 * SLA_S, SLA_S) == WARN
    assert freshness_status(SLA_S, SLA_S) == WARN  # at the SLA: still within it
    assert freshness_status(SLA_S + 1e-6, SLA_S) == BREACH


def test_ok_warn_breach_after_a_push(duckdb_demo: DemoBuild, env: dict[str, str]) -> None:
    demo = duckdb_demo
    assert demo.fsync("push", "--as-of", "2024-12-01T12:00:00", env=env).exit_code == 0
    code, report = _json(demo, env, "freshness", "--as-of", "2024-12-01T12:00:00")
    assert code == 0 and report["status"] == OK
    assert [v["view"] for v in report["views"]] == VIEWS
    session = report["views"][2]
    assert session["entities_online"] == _alive_users(demo, datetime(2024, 12, 1, 12)) > 0
    assert session["newest_online_ts"] == session["newest_warehouse_ts"] == NEWEST.isoformat()
    assert session["last_push_as_of"] == "2024-12-01T12:00:00"
    assert session["last_push_mode"] == "full" and session["last_push_completed_at"]
    assert session["online_age_seconds"] == 12 * 3600

    code, report = _json(demo, env, "freshness", "--as-of", "2024-12-01T20:48:00")  # exactly 80 %
    assert code == 0 and {v["status"] for v in report["views"]} == {WARN}

    code, report = _json(demo, env, "freshness", "--as-of", "2024-12-02T02:00:01")  # 26h and 1s
    assert code == 1 and report["exit_code"] == 1
    for v in report["views"]:
        assert (v["status"], v["warehouse_status"], v["online_status"]) == (BREACH, BREACH, BREACH)
        assert "the warehouse is stale" in v["message"] and "dbt build" in v["message"]

    text = demo.fsync("freshness", "--as-of", "2024-12-02T02:00:01", env=env)
    assert text.exit_code == 1
    assert "user_session_features: BREACH (SLA 26h" in text.stdout


def test_a_late_push_is_a_breach_of_the_online_side_only(duckdb_demo: DemoBuild, env: dict[str, str]) -> None:
    demo = duckdb_demo
    assert demo.fsync("push", "--as-of", "2024-11-30T12:00:00", env=env).exit_code == 0
    code, report = _json(
        demo, env, "freshness", "--as-of", "2024-12-01T12:00:00", "-s", "user_session_features"
    )
    assert code == 1
    (v,) = report["views"]
    assert (v["warehouse_status"], v["online_status"], v["status"]) == (OK, BREACH, BREACH)
    assert v["newest_online_ts"] == "2024-11-30T00:00:00" and v["newest_warehouse_ts"] == NEWEST.isoformat()
    assert "the online store is stale" in v["message"] and "run fsync push" in v["message"]


def test_never_pushed_and_rows_after_the_as_of(duckdb_demo: DemoBuild, env: dict[str, str]) -> None:
    demo = duckdb_demo
    code, report = _json(demo, env, "freshness", "--as-of", "2024-12-01T12:00:00")
    assert code == 1
    assert all(v["online_status"] == BREACH and "never pushed" in v["message"] for v in report["views"])
    assert all(v["entities_online"] == 0 and v["last_push_as_of"] is None for v in report["views"])
    # The warehouse holds rows up to 2024-12-01; as of mid-June only the rows up to then count.
    code, report = _json(demo, env, "freshness", "--offline", "--as-of", "2024-06-15T12:00:00")
    assert code == 0 and report["store"] is None
    for v in report["views"]:
        assert v["newest_warehouse_ts"] == "2024-06-15T00:00:00" and v["online_status"] is None
    code, report = _json(demo, env, "freshness", "--offline", "--as-of", "2020-01-01T00:00:00")
    assert code == 1 and all("no row with feature_ts" in v["message"] for v in report["views"])


def test_errors_are_json_objects(duckdb_demo: DemoBuild, env: dict[str, str]) -> None:
    code, out = _json(duckdb_demo, env, "freshness", "-s", "user_sesion_features")
    assert code == 2 and out["error"]["kind"] == "user_error"
    assert "Did you mean 'user_session_features'" in out["error"]["message"]
    code, out = _json(duckdb_demo, env, "freshness", "--as-of", "yesterday")
    assert code == 2 and "--as-of" in out["error"]["message"]


def test_push_warns_when_every_row_is_expired_or_the_view_is_in_breach(
    duckdb_demo: DemoBuild, env: dict[str, str]
) -> None:
    demo = duckdb_demo
    code, out = _json(demo, env, "push", "-s", "user_session_features", "--as-of", "2024-12-05T00:00:00")
    assert code == 0 and out["views"][0]["rows"] == 0
    expected = (
        "user_session_features: wrote 0 entities: every row is expired at the push time (newest feature_ts"
        " 2024-12-01 + ttl 2d < now 2024-12-05); pass --as-of for historical data."
    )
    assert out["views"][0]["warnings"] == [expected] and out["warnings"] == [expected]
    text = demo.fsync("push", "-s", "user_session_features", "--as-of", "2024-12-05T00:00:00", env=env)
    assert f"fsync: WARNING: {expected}" in text.stderr

    code, out = _json(demo, env, "push", "-s", "user_session_features", "--as-of", "2024-12-02T04:00:00")
    assert code == 0 and out["views"][0]["rows"] > 0
    (warning,) = out["views"][0]["warnings"]
    assert warning.startswith("user_session_features is in breach of its freshness SLA (26h): the newest")
    assert "1d4h old" in warning

    code, out = _json(demo, env, "push", "-s", "user_session_features", "--as-of", "2024-12-01T12:00:00")
    assert code == 0 and out["views"][0]["warnings"] == [] and out["warnings"] == []
    # An incremental push that finds nothing new still knows the view's newest row (kept in the watermark).
    code, out = _json(demo, env, "push", "-s", "user_session_features", "--as-of", "2024-12-03T06:00:00")
    assert out["views"][0]["mode"] == "incremental"
    assert "every row is expired" in out["views"][0]["warnings"][0]


def test_the_python_api_reports_what_the_cli_prints(
    duckdb_demo: DemoBuild, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = duckdb_demo
    for k, v in demo.fsync_env().items():  # a user's shell after `dbt build` (the profile's variables)
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, v)
    assert demo.fsync("push", "--as-of", "2024-12-01T12:00:00", env=env).exit_code == 0
    settings = {"store": env["FSYNC_STORE"]}
    if env["FSYNC_STORE"] == "redis":
        settings |= {"redis_url": env["FSYNC_REDIS_URL"], "key_prefix": env["FSYNC_KEY_PREFIX"]}
    else:
        settings["sqlite_path"] = env["FSYNC_SQLITE_PATH"]
    report = check_freshness(
        demo.project_dir,
        select=["user_purchase_features"],
        as_of="2024-12-01T22:00:00",
        **settings,
    )
    assert [v.view for v in report.views] == VIEWS[:2]
    assert report.status == WARN and report.exit_code == 0
    assert report.view("user_purchase_features@2").newest_online_ts == NEWEST
    _, cli = _json(demo, env, "freshness", "-s", "user_purchase_features", "--as-of", "2024-12-01T22:00:00")
    assert [v["status"] for v in cli["views"]] == [v.status for v in report.views]
    assert [v["entities_online"] for v in cli["views"]] == [v.entities_online for v in report.views]


def test_the_dbt_test_warns_then_errors_like_source_freshness(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    # Its own target path: the demo build's run_results.json stays what the other tests push from.
    dbt = dataclasses.replace(duckdb_demo.build.dbt, target_path=tmp_path / "target")
    select = ("test", "--select", "test_name:freshness_within_sla")

    def statuses(as_of: str) -> tuple[int, dict[str, str]]:
        res = dbt.run(*select, dbt_vars={"fstore_freshness_as_of": as_of})
        results = [r for r in res.run_results()["results"] if r["unique_id"].startswith("test.")]
        return res.returncode, {r["unique_id"].split(".")[2]: r["status"] for r in results}

    code, found = statuses("2024-12-01T12:00:00")
    assert code == 0 and len(found) == 3 and set(found.values()) == {"pass"}
    code, found = statuses("2024-12-01T20:48:00")  # 80 % of the SLA: warn, and dbt exits 0
    assert code == 0 and set(found.values()) == {"warn"}
    code, found = statuses("2024-12-02T02:00:01")  # past the SLA: error
    assert code == 1 and set(found.values()) == {"fail"}
    # Rows after the as-of do not count: as of mid-June the newest row is that day's.
    code, found = statuses("2024-06-15T22:00:00")
    assert code == 0 and set(found.values()) == {"warn"}
