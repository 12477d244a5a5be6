"""Both projects that install the package build on every engine: integration_tests (macro unit tests,
seed-vs-expected, the inverted leakage fixture) and the demo (seeds, models, unit tests, data tests)."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fstore_testing.dbt import ENGINES
from fstore_testing.demo import DemoBuild
from fstore_testing.engines import Engine


def _problems(results: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> list[tuple[str, str, Any]]:
    # exposures are not executed: dbt 1.11 lists them in run_results as "no-op"
    return [(r["unique_id"], r["status"], r.get("message")) for r in results
            if r["status"] not in ("success", "pass")
            and not (r["unique_id"].startswith("exposure.") and r["status"] == "no-op")]


def test_integration_tests_build(engine: Engine) -> None:
    engine.integration.dbt.ok("seed", "--full-refresh")
    results = engine.integration.dbt.ok("build").run_results()["results"]
    assert not _problems(results), f"dbt build of integration_tests on {engine.name}: {_problems(results)}"
    kinds = Counter(r["unique_id"].split(".")[0] for r in results)
    assert kinds["unit_test"] >= 12, f"unit tests missing on {engine.name}: {dict(kinds)}"
    assert any("mt_leaky_join" in r["unique_id"] and r["status"] == "pass" for r in results), (
        "the inverted leakage test of mt_leaky_join did not pass: the leakage test no longer catches the leak"
    )


def test_demo_build(demo: DemoBuild) -> None:
    assert not _problems(demo.results), f"dbt build of the demo on {demo.engine}: {_problems(demo.results)}"
    kinds = Counter(r["unique_id"].split(".")[0] for r in demo.results)
    assert kinds["model"] >= 10 and kinds["test"] > 0, f"{demo.engine}: {dict(kinds)}"
    assert all(r["unique_id"].split(".")[1] in ("fstore_demo", "fstore") for r in demo.results)


def _table_names(build: DemoBuild) -> list[str]:
    manifest = json.loads((build.target_path / "manifest.json").read_text())
    return sorted(n["alias"] for n in manifest["nodes"].values()
                  if n["resource_type"] == "model" and n["package_name"] == "fstore_demo")


def _canonical(value: Any) -> Any:
    return Decimal(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _same_cell(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return _canonical(a) == _canonical(b)


def _sorted_rows(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The rows as tuples (columns by name), sorted on the exact columns first, then the doubles rounded
    (they may differ in the last bits between engines)."""
    names = sorted(rows[0]) if rows else []
    doubles = {c for c in names if any(isinstance(r[c], float) for r in rows)}

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        def text(v: Any) -> str:
            v = _canonical(v)
            return str(v.normalize()) if isinstance(v, Decimal) else str(v)
        exact = tuple((row[c] is None, text(row[c])) for c in names if c not in doubles)
        return exact + tuple((row[c] is None, round(row[c] or 0.0, 6)) for c in names if c in doubles)

    return [tuple(_canonical(r[c]) for c in names) for r in sorted(rows, key=key)]


@pytest.mark.parametrize("other", [pytest.param(e, marks=[getattr(pytest.mark, e)])
                                   for e in ENGINES if e != "duckdb"])
def test_demo_tables_equal_duckdbs(other: str, demo_builds: Callable[[str], DemoBuild]) -> None:
    """Every demo model (staging, feature views, training sets) holds the same rows on every engine as on
    DuckDB: same columns, same multiset of rows, cell for cell (doubles within 1e-9)."""
    base, build = demo_builds("duckdb"), demo_builds(other)
    names = _table_names(base)
    assert names == _table_names(build) and len(names) >= 10
    for name in names:
        expected = base.build.warehouse.read_table(base.schema, name)
        actual = build.build.warehouse.read_table(build.schema, name)
        assert expected and len(actual) == len(expected), (
            f"{name} on {other}: {len(actual)} rows, DuckDB {len(expected)}")
        assert sorted(actual[0]) == sorted(expected[0]), f"{name} on {other}: columns differ"
        diffs = [(e, a) for e, a in zip(_sorted_rows(expected), _sorted_rows(actual), strict=True)
                 if not all(_same_cell(x, y) for x, y in zip(e, a, strict=True))]
        assert not diffs, f"{name} on {other} differs from DuckDB in {len(diffs)} rows, e.g. {diffs[:3]}"
