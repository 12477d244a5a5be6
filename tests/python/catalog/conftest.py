"""Fixtures of the catalog tests: the catalog written once from the session's DuckDB demo build."""

from __future__ import annotations

import pytest
from fstore_testing.catalog import Site, run_catalog
from fstore_testing.demo import DemoBuild


@pytest.fixture(scope="session")
def site(duckdb_demo: DemoBuild, tmp_path_factory: pytest.TempPathFactory) -> Site:
    out = tmp_path_factory.mktemp("catalog_site")
    code, output = run_catalog(duckdb_demo.target_path, duckdb_demo.duckdb_path, out)
    assert code == 0, output
    return Site(out_dir=out, target_path=duckdb_demo.target_path, duckdb_path=duckdb_demo.duckdb_path,
                output=output)
