"""Randomized reference test: the macros, run by real dbt, agree cell by cell with tests/python/reference.py.

The generated tables are loaded as the `fstore_reference` source, the models of
integration_tests/models/reference/ are built
with `--vars '{fstore_reference_tests: true}'`, and every output cell is compared with the brute-force
result: exact for counts, integers, decimals and timestamps; relative 1e-9 for doubles (avg, double columns).
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import fstore_testing.reference as ref
import pytest
from fstore_testing.engines import Engine
from fstore_testing.reference_data import COLUMNS, Dataset, generate

SEED = int(os.environ.get("FSTORE_REFERENCE_SEED", "20240101"))
MAX_REPORTED = 15

ROLLING = [
    ref.Aggregation("n_rows", "count_rows", None, ("1h", "1d", "7d", "30d")),
    ref.Aggregation("n_amount", "count", "amount", ("1h", "1d", "7d", "30d")),
    ref.Aggregation("amount_sum", "sum", "amount", ("1h", "1d", "7d", "30d")),
    ref.Aggregation("amount_avg", "avg", "amount", ("1h", "1d", "7d", "30d")),
    ref.Aggregation("amount_min", "min", "amount", ("1h", "1d", "7d", "30d")),
    ref.Aggregation("amount_max", "max", "amount", ("1h", "1d", "7d", "30d")),
    ref.Aggregation("score_sum", "sum", "score", ("1d", "30d")),
    ref.Aggregation("score_avg", "avg", "score", ("1h", "1d", "7d", "30d")),
    ref.Aggregation("score_min", "min", "score", ("1h", "1d", "7d", "30d")),
    ref.Aggregation("score_max", "max", "score", ("1h", "1d", "7d", "30d")),
    ref.Aggregation("categories", "count_distinct", "category", ("1h", "1d", "7d", "30d")),
]
# The tiled formulation (spine_step) takes every aggregation but count_distinct.
TILED = [a for a in ROLLING if a.agg != "count_distinct"]
VERSIONED = [
    ref.Aggregation("n_rows", "count_rows", None, ("1d", "7d")),
    ref.Aggregation("amount_sum", "sum", "amount", ("1d", "7d")),
    ref.Aggregation("amount_max", "max", "amount", ("1d", "7d")),
    ref.Aggregation("orders", "count_distinct", "order_id", ("1d", "7d")),
]
ORDER_KEY = ["order_id", "line_item_id"]
SPINE = {"entity_keys": ["entity_id"], "spine_timestamp": "ts", "spine_columns": ["spine_id"]}


def _views(data: Dataset) -> list[ref.FeatureView]:
    return [
        ref.FeatureView(data.tables["fv_a"], {"f_int": "f_int", "f_dbl": "f_dbl"}, "a_", "2d",
                        created_timestamp="created_ts"),
        ref.FeatureView(data.tables["fv_b"], {"f_str": "label_str", "f_dec": "dec"}, "b_", "6h"),
        ref.FeatureView(data.tables["fv_b"], {"f_dec": "f_dec"}, "c_", None),
    ]


def _same(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float):
        return isinstance(actual, float) and math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(expected, Decimal | int):  # exact: counts, integer and decimal values, empty sums (0)
        return isinstance(actual, Decimal | int | float) and Decimal(actual) == expected
    if isinstance(expected, datetime):
        return isinstance(actual, datetime) and actual.tzinfo is None and actual == expected
    return type(actual) is type(expected) and actual == expected


def _diff_rows(where: str, expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    if set(expected) != set(actual):
        return [f"{where}: columns differ: missing {sorted(set(expected) - set(actual))}, "
                f"unexpected {sorted(set(actual) - set(expected))}"]
    return [f"{where} column {c}: expected {expected[c]!r}, got {actual[c]!r}"
            for c in expected if not _same(expected[c], actual[c])]


def _assert_no_diffs(model: str, engine: Engine, diffs: list[str], context: str = "") -> None:
    assert not diffs, (
        f"{model} on {engine.name} (seed {SEED}) differs from the reference in {len(diffs)} cells{context}:\n"
        + "\n".join(diffs[:MAX_REPORTED])
    )


def _compare_by_spine_id(model: str, engine: Engine, expected: list[dict[str, Any]],
                         spine: Sequence[dict[str, Any]]) -> None:
    project = engine.integration
    actual = project.warehouse.read_table(project.schema, model)
    assert len(actual) == len(expected), (
        f"{model} on {engine.name}: {len(actual)} rows for {len(expected)} spine rows"
    )
    by_id: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in actual:
        by_id[row["spine_id"]].append(row)
    inputs = {s["spine_id"]: s for s in spine}
    diffs: list[str] = []
    for exp in expected:
        rows = by_id.get(exp["spine_id"])
        if not rows:
            diffs.append(f"spine row {inputs[exp['spine_id']]}: missing from output")
            continue
        diffs += _diff_rows(f"spine row {inputs[exp['spine_id']]}", exp, rows.pop())
    _assert_no_diffs(model, engine, diffs)


def _sort_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple((row[c] is None, row[c] or 0) for c in ("entity_id", "label_ts", "label"))


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(SEED)


@pytest.fixture(scope="module")
def built(engine: Engine, dataset: Dataset) -> Engine:
    load_dir = engine.work_dir / "reference_csv"
    load_dir.mkdir(parents=True, exist_ok=True)
    engine.integration.warehouse.load_tables(
        engine.reference_schema, {t: (COLUMNS[t], rows) for t, rows in dataset.tables.items()}, load_dir
    )
    engine.integration.dbt.ok("build", "--select", "tag:reference", dbt_vars={"fstore_reference_tests": True})
    return engine


def test_reference_rolling(built: Engine, dataset: Dataset) -> None:
    spine = dataset.tables["spine"]
    expected = ref.rolling_agg(spine, dataset.tables["events"], aggregations=ROLLING, **SPINE)
    _compare_by_spine_id("ref_rolling", built, expected, spine)


@pytest.mark.parametrize("model", ["ref_rolling_tiled", "ref_rolling_grid"])
def test_reference_rolling_on_a_grid_both_formulations(built: Engine, dataset: Dataset, model: str) -> None:
    """The same hourly grid spine through the tiles (spine_step='1h') and through the bucketed join."""
    spine = dataset.tables["grid_spine"]
    expected = ref.rolling_agg(spine, dataset.tables["events"], aggregations=TILED, **SPINE)
    _compare_by_spine_id(model, built, expected, spine)


def test_reference_rolling_final_versions(built: Engine, dataset: Dataset) -> None:
    spine = dataset.tables["spine"]
    final = ref.dedup_final(dataset.tables["event_versions"], ORDER_KEY, "ingested_at")
    expected = ref.rolling_agg(spine, final, aggregations=VERSIONED, **SPINE)
    _compare_by_spine_id("ref_rolling_final", built, expected, spine)


def test_reference_rolling_as_known_at(built: Engine, dataset: Dataset) -> None:
    spine = dataset.tables["spine"]
    expected = ref.rolling_agg_as_known_at(spine, dataset.tables["event_versions"], aggregations=VERSIONED,
                                           dedup_key=ORDER_KEY, **SPINE)
    _compare_by_spine_id("ref_rolling_known", built, expected, spine)


@pytest.mark.parametrize("model", ["ref_pit", "ref_pit_ordered"])
def test_reference_point_in_time_join(built: Engine, dataset: Dataset, model: str) -> None:
    """ref_pit (the default): the same multiset of rows as the labels' join, in no particular order;
    ref_pit_ordered (keep_label_order=true): also in the labels' order, where the engine has one."""
    labels = dataset.tables["labels"]
    expected = ref.point_in_time_join(labels, ["entity_id"], _views(dataset), "label_ts")
    actual = built.integration.warehouse.read_table(built.integration.schema, model)
    assert len(actual) == len(labels), f"{model} on {built.name}: {len(actual)} rows for {len(labels)} labels"
    if model == "ref_pit_ordered" and built.name == "duckdb":
        context = " (compared in label order: DuckDB keeps the table's insertion order)"
    else:
        # No order promised (ref_pit), or none to observe: PostgreSQL returns a table's rows in no guaranteed
        # order, and a Spark table has no row order at all. Compare as multisets.
        context = " (compared as multisets)"
        expected, actual = sorted(expected, key=_sort_key), sorted(actual, key=_sort_key)
    diffs: list[str] = []
    for i, (exp, act) in enumerate(zip(expected, actual, strict=True)):
        label = {c: exp[c] for c in ("entity_id", "label_ts", "label")}
        diffs += _diff_rows(f"label row #{i} {label}", exp, act)
    _assert_no_diffs(model, built, diffs, context)


def test_reference_data_hits_the_edges(dataset: Dataset) -> None:
    """The generator must keep producing the edge cases the comparison is meant to pin (no dbt needed)."""
    t = dataset.tables
    widths = [ref.parse_duration(w) for w in ("1h", "1d", "7d", "30d")]
    events_at: dict[tuple[Any, datetime], int] = defaultdict(int)
    for e in t["events"]:
        events_at[(e["entity_id"], e["event_ts"])] += 1
    us = ref.parse_duration("1s") / 1_000_000
    spine = t["spine"]
    hits = {
        "event exactly at t (excluded)": sum(events_at[(s["entity_id"], s["ts"])] > 0 for s in spine),
        "event exactly at t - W (included)": sum(
            events_at[(s["entity_id"], s["ts"] - w)] > 0 for s in spine for w in widths),
        "event at t - W - 1us (excluded)": sum(
            events_at[(s["entity_id"], s["ts"] - w - us)] > 0 for s in spine for w in widths),
        "duplicate spine rows": len(spine) - len({s["spine_id"] for s in spine}),
    }
    grid = t["grid_spine"]
    hits |= {
        "grid: event exactly at t (excluded)": sum(events_at[(s["entity_id"], s["ts"])] > 0 for s in grid),
        "grid: event exactly at t - W (included)": sum(
            events_at[(s["entity_id"], s["ts"] - w)] > 0 for s in grid if s["ts"] for w in widths),
        "grid: event 1us before t (included)": sum(events_at[(s["entity_id"], s["ts"] - us)] > 0
                                                   for s in grid if s["ts"]),
        "grid: event at t - W - 1us (excluded)": sum(
            events_at[(s["entity_id"], s["ts"] - w - us)] > 0 for s in grid if s["ts"] for w in widths),
        "grid: NULL key or time": sum(s["entity_id"] is None or s["ts"] is None for s in grid),
        "grid: duplicate spine rows": len(grid) - len({s["spine_id"] for s in grid}),
    }
    ingested = {(v["entity_id"], v["ingested_at"]) for v in t["event_versions"]}
    hits["version ingested exactly at t"] = sum((s["entity_id"], s["ts"]) in ingested for s in spine)
    hits["version ingested 1us after t"] = sum((s["entity_id"], s["ts"] + us) in ingested for s in spine)
    hits["version with NULL ingested_at"] = sum(v["ingested_at"] is None for v in t["event_versions"])
    hits["version with NULL event_ts"] = sum(v["event_ts"] is None for v in t["event_versions"])

    pit = ref.point_in_time_join(t["labels"], ["entity_id"], _views(dataset), "label_ts")
    two_days, six_hours = ref.parse_duration("2d"), ref.parse_duration("6h")
    tied = defaultdict(list)
    for r in t["fv_a"]:
        tied[(r["entity_id"], r["feature_ts"])].append(r["created_ts"])
    matched_a = [p for p in pit if p["a_feature_ts"] is not None]
    siblings = [tied[(p["entity_id"], p["a_feature_ts"])] for p in matched_a]
    labels = t["labels"]
    hits |= {
        "label exactly at feature_ts + ttl (a)": sum(
            p["a_feature_ts"] == p["label_ts"] - two_days for p in matched_a),
        "label exactly at feature_ts + ttl (b)": sum(
            p["b_feature_ts"] is not None and p["b_feature_ts"] == p["label_ts"] - six_hours for p in pit),
        "label exactly at feature_ts": sum(p["a_feature_ts"] == p["label_ts"] for p in matched_a),
        "match decided by created_ts": sum(len(c) > 1 for c in siblings),
        "tie against a NULL created_ts": sum(len(c) > 1 and None in c for c in siblings),
        "matched row with NULL value": sum(p["a_f_int"] is None for p in matched_a),
        "label outside every ttl": sum(p["a_feature_ts"] is None and p["b_feature_ts"] is None for p in pit),
        "duplicate label rows": len(labels) - len({tuple(r.items()) for r in labels}),
        "label with NULL key or time": sum(r["entity_id"] is None or r["label_ts"] is None for r in labels),
    }
    thin = {k: v for k, v in hits.items() if v < 20}
    assert not thin, f"seed {SEED}: too few cases of {thin} (all counts: {hits})"
