"""Fixtures for the catalog tests: the demo project built once on a private DuckDB file, and the catalog
written from it by the real `fsync catalog` command."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_support import DemoBuild, Site, run_catalog
from dbt_runner import PgSettings
from harness import make_engine


@pytest.fixture(scope="session")
def demo_build(
    tmp_path_factory: pytest.TempPathFactory, profiles_dir: Path, pg_settings: PgSettings
) -> DemoBuild:
    engine = make_engine("duckdb", tmp_path_factory.mktemp("catalog_dbt"), profiles_dir, pg_settings, None)
    engine.dbt.ok("build")
    return DemoBuild(target_path=engine.dbt.target_path, duckdb_path=engine.warehouse.duckdb_path)


@pytest.fixture(scope="session")
def site(demo_build: DemoBuild, tmp_path_factory: pytest.TempPathFactory) -> Site:
    out = tmp_path_factory.mktemp("catalog_site")
    code, output = run_catalog(demo_build, out)
    assert code == 0, output
    return Site(out_dir=out, build=demo_build, output=output)
