"""Both projects that install the package build on every engine: integration_tests (macro unit tests,
seed-vs-expected, the inverted leakage fixture) and the demo (seeds, models, unit tests, data tests)."""

from __future__ import annotations

from collections import Counter
from typing import Any

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
