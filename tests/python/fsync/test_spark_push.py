"""A push from the demo built on Spark reads the views' Parquet files under the Spark warehouse dir (DuckDB
streams them in batches: no Spark driver collects anything) and serves, key by key, the same values as a
push from the DuckDB build of the same demo, on both stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fstore_testing.demo import DemoBuild
from fstore_testing.stores import open_store_from_env, served, store_settings

from fsync.manifest import load_manifest

AS_OF = datetime(2024, 6, 15, 12, 0)  # mid-year: every user has a row within the views' TTLs


@pytest.mark.spark
def test_a_push_from_the_spark_build_equals_a_push_from_duckdb(
    demo_builds: Callable[[str], DemoBuild], store_kind: str, redis_url: str, tmp_path: Path
) -> None:
    spark, duckdb = demo_builds("spark"), demo_builds("duckdb")
    envs = {
        build.engine: store_settings(store_kind, redis_url, tmp_path / build.engine, prefix=build.engine)
        for build in (spark, duckdb)
    }
    for build in (spark, duckdb):
        (tmp_path / build.engine).mkdir()
        result = build.fsync("push", "--as-of", AS_OF.isoformat(), "--json", env=envs[build.engine])
        assert result.exit_code == 0, result.output
    views = [v.store_id for v in load_manifest(spark.target_path).select_online([])]
    assert len(views) >= 3
    compared = 0
    for view in views:
        got = {}
        for engine, env in envs.items():
            store = open_store_from_env(env)
            try:
                got[engine] = served(store, view, AS_OF + timedelta(minutes=1))
            finally:
                store.close()
        assert got["spark"] == got["duckdb"], view
        compared += len(got["duckdb"])
    assert compared > 300, compared
