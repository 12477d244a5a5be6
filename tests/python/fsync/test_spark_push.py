"""fsync on the demo built on Spark, from the views' Parquet files under the Spark warehouse dir (DuckDB
streams them in batches: no Spark driver collects anything): a push serves, key by key, the same values as a
push from the DuckDB build of the same demo, on both stores; historical features equal the DuckDB build's."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from fstore_testing.demo import DemoBuild
from fstore_testing.stores import open_store_from_env, served, store_settings

from fsync import FeatureStore
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


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def _rows(table: object) -> list[tuple[object, ...]]:
    return [tuple(r.values()) for r in table.to_pylist()]  # type: ignore[attr-defined]


@pytest.mark.spark
def test_historical_features_of_the_spark_build_equal_duckdbs(
    demo_builds: Callable[[str], DemoBuild], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    got = {}
    labels = pd.DataFrame(
        {"user_id": [1150, 1001, 1150, -1], "label_ts": [AS_OF, AS_OF, datetime(2024, 12, 1), AS_OF]}
    )
    for engine in ("spark", "duckdb"):
        build = demo_builds(engine)
        with monkeypatch.context() as env:
            for k, v in {**build.fsync_env(), **store_settings("sqlite", "", tmp_path / engine)}.items():
                if v is None:
                    env.delenv(k, raising=False)
                else:
                    env.setenv(k, v)
            fs = FeatureStore(build.project_dir)
            try:
                got[engine] = (
                    fs.get_historical_features("stg_churn_labels", training_set="training_churn"),
                    fs.get_historical_features(labels, training_set="training_churn"),
                )
            finally:
                fs.close()
    (spark_named, spark_frame), (duck_named, duck_frame) = got["spark"], got["duckdb"]
    assert spark_named.column_names == duck_named.column_names and spark_named.num_rows > 100
    key = lambda row: tuple((v is None, str(v)) for v in row)  # noqa: E731
    for want, have in ((sorted(_rows(duck_named), key=key), sorted(_rows(spark_named), key=key)),
                       (_rows(duck_frame), _rows(spark_frame))):  # in-memory labels: in their order
        assert len(have) == len(want)
        diffs = [(w, h) for w, h in zip(want, have, strict=True) if not all(map(_same, w, h))]
        assert not diffs, diffs[:3]
