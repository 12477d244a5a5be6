"""The guarantee: after `fsync push --as-of T`, every entity read back from the online store equals
fstore.point_in_time_join at label_ts = T (absent where nothing matches or the TTL expired), on both stores.
Also: incremental pushes (new rows, late and same-timestamp corrections), pushing twice, --full-refresh."""

from __future__ import annotations

import json
import random
import shutil
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from fstore_testing.cli import fsync
from fstore_testing.fixture_project import (
    Dataset,
    DbtFixture,
    assert_store_equals_pit,
    load_dataset,
    random_dataset,
    snapshot_build,
)
from fstore_testing.stores import open_store_from_env, store_settings

T1 = datetime(2024, 6, 1, 6, 30)
T2 = T1 + timedelta(days=1)
SELECT = ["--select", "user_stats", "--select", "store_stats"]


def _changes(data: Dataset, seed: int) -> Dataset:
    """New rows after T1, late rows inside the look-back, same-timestamp corrections (newer created_ts)."""
    rng = random.Random(seed)
    user_rows, v2_rows, store_rows = list(data.user_rows), list(data.user_rows_v2), list(data.store_rows)
    vals = (7, 1.25, Decimal("3.5000"), True, "corrected", datetime(2024, 1, 2))
    for uid in rng.sample(range(1, 81), 15):
        user_rows.append((uid, T1 + timedelta(hours=rng.randint(1, 24)), None, *vals))
    for uid in rng.sample(range(1, 81), 10):  # late: feature_ts before T1, arriving after the first push
        user_rows.append((uid, T1 - timedelta(minutes=rng.randint(1, 600), microseconds=3), None, *vals))
    latest: dict[int, tuple] = {}
    for row in v2_rows:
        if row[1] <= T2 and (
            row[0] not in latest
            or (row[1], row[2] or datetime.min) > (latest[row[0]][1], latest[row[0]][2] or datetime.min)
        ):
            latest[row[0]] = row
    for row in list(latest.values())[:12]:  # same feature_ts, newer created_ts, new values
        v2_rows.append((row[0], row[1], T2 + timedelta(hours=1), *vals[:3], False, "same-ts fix", vals[5]))
    store_rows.append(("s1", "DE", T2 - timedelta(hours=1), None, 1.5, 2))
    return Dataset(user_rows, v2_rows, store_rows)


@pytest.fixture(scope="module")
def builds(dbt_fixture: DbtFixture, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """The fixture project built at T1 on random data, then at T2 after changes (copies of each build)."""
    out = tmp_path_factory.mktemp("builds")
    data = random_dataset(seed=20240601, as_of=T1)
    load_dataset(dbt_fixture.duckdb_path, data)
    dbt_fixture.build(T1.isoformat(sep=" "))
    first = snapshot_build(dbt_fixture.duckdb_path, dbt_fixture.target, out / "t1")
    load_dataset(dbt_fixture.duckdb_path, _changes(data, seed=7))
    dbt_fixture.build(T2.isoformat(sep=" "))
    second = snapshot_build(dbt_fixture.duckdb_path, dbt_fixture.target, out / "t2")
    return {"t1": first, "t2": second}


def _env(build: tuple[Path, Path], store_env: dict[str, str]) -> dict[str, str]:
    from fstore_testing.fixture_project import FIXTURE_PROJECT

    return {
        **store_env,
        "FSYNC_PROJECT_DIR": str(FIXTURE_PROJECT),
        "FSYNC_DUCKDB_PATH": str(build[0]),
        "FSYNC_TARGET_PATH": str(build[1]),
        "FSYNC_BATCH_SIZE": "17",
    }


def test_push_equals_point_in_time_join(
    builds: dict, store_kind: str, redis_url: str, tmp_path: Path
) -> None:
    store_env = store_settings(store_kind, redis_url, tmp_path)
    env1 = _env(builds["t1"], store_env)
    res = fsync(env1, "push", *SELECT, "--as-of", T1.isoformat())
    assert res.exit_code == 0, res.output
    store = open_store_from_env(store_env)
    assert assert_store_equals_pit(store, builds["t1"][0], T1) > 50
    before = {v: store.snapshot(v, T1) for v in ("user_stats:v1", "user_stats:v2", "store_stats:_")}

    # Pushing again is a no-op in effect.
    assert fsync(env1, "push", *SELECT, "--as-of", T1.isoformat()).exit_code == 0
    assert {v: store.snapshot(v, T1) for v in before} == before

    # After changes: an incremental push at T2 equals the join at T2 and a full push into a fresh store.
    env2 = _env(builds["t2"], store_env)
    res = fsync(env2, "push", *SELECT, "--as-of", T2.isoformat(), "--json")
    assert res.exit_code == 0, res.output
    assert '"mode": "incremental"' in res.output
    assert assert_store_equals_pit(store, builds["t2"][0], T2) > 30
    fresh_env = store_settings(store_kind, redis_url, tmp_path, prefix="fresh")
    assert fsync(_env(builds["t2"], fresh_env), "push", *SELECT, "--as-of", T2.isoformat()).exit_code == 0
    fresh = open_store_from_env(fresh_env)
    for v in before:
        assert store.snapshot(v, T2) == fresh.snapshot(v, T2), v

    # --full-refresh rewrites everything to the same state.
    res = fsync(env2, "push", *SELECT, "--as-of", T2.isoformat(), "--full-refresh")
    assert res.exit_code == 0 and "full push" in res.output
    assert assert_store_equals_pit(store, builds["t2"][0], T2) > 30

    # Going back in time (as-of before the watermark) rewrites from scratch, drops entities seen later.
    assert fsync(env2, "push", *SELECT, "--as-of", T1.isoformat()).exit_code == 0
    for v in before:
        assert set(store.snapshot(v, T1)) <= set(fresh.snapshot(v, T2)) | set(before[v]), v
    store.close()
    fresh.close()


def test_get_command_reads_back(builds: dict, store_kind: str, redis_url: str, tmp_path: Path) -> None:
    env = _env(builds["t1"], store_settings(store_kind, redis_url, tmp_path))
    assert fsync(env, "push", "--select", "store_stats", "--as-of", T1.isoformat()).exit_code == 0
    entity = json.dumps({"store_id": "s|2", "country": "DE"})  # a key part holding `|`: given as JSON
    res = fsync(env, "get", "store_stats", "--entity", entity, "--as-of", T1.isoformat(), "--json")
    assert res.exit_code in (0, 1)
    assert '"view": "store_stats"' in res.output
    assert fsync(env, "get", "store_stats", "s|2|DE", "--as-of", T1.isoformat()).exit_code == 2  # ambiguous
    res = fsync(env, "get", "store_stats", "nope|XX", "--as-of", T1.isoformat())
    assert res.exit_code == 1 and "missing - not served" in res.output


def test_refuses_view_whose_tests_failed(builds: dict, redis_url: str, tmp_path: Path) -> None:
    env = _env(builds["t1"], store_settings("sqlite", redis_url, tmp_path))
    res = fsync(env, "push", "--as-of", T1.isoformat())
    assert res.exit_code == 1
    assert "guarded_stats" in res.output and "accepted_values_guarded_stats_f_int" in res.output
    assert "user_stats@2: full push" in res.output  # the healthy views are still published


@pytest.mark.parametrize("command", [("compile",), ("docs", "generate")])
def test_a_later_compile_or_docs_run_does_not_mask_failed_tests(
    dbt_fixture: DbtFixture, builds: dict, tmp_path: Path, command: tuple[str, ...]
) -> None:
    """`dbt build` (a test fails), then `dbt compile` / `dbt docs generate` rewrites run_results.json with
    every node `success`: health comes only from the invocations that built and tested the views. Whether
    fsync recorded the build before (its record in target/fsync/) or not, the view is refused."""
    for recorded in (False, True):
        target = tmp_path / f"target-{recorded}"
        shutil.copytree(builds["t1"][1], target)
        shutil.rmtree(target / "fsync", ignore_errors=True)
        env = _env((builds["t1"][0], target), store_settings("sqlite", "", tmp_path / str(recorded)))
        if recorded:
            assert fsync(env, "views").exit_code == 0  # fsync reads (and records) the build
        as_of = json.dumps({"as_of": str(T1)})
        res = dbt_fixture.dbt(*command, "--target-path", str(target), "--vars", as_of)
        assert res.returncode == 0, res.stdout[-3000:]
        results = json.loads((target / "run_results.json").read_text())
        assert results["args"]["which"] == command[-1]
        assert all(r["status"] == "success" for r in results["results"])  # what would mask the failed test
        res = fsync(env, "push", "--as-of", T1.isoformat())
        assert res.exit_code == 1, res.output
        if recorded:
            assert "guarded_stats: its tests did not pass: accepted_values_guarded_stats_f_int" in res.output
            assert "user_stats@2: full push" in res.output  # the healthy views are published
        else:
            assert f"was written by `dbt {command[-1]}`, which neither builds nor tests models" in res.output
        store = open_store_from_env(env)
        assert store.get_watermark("guarded_stats:_") is None and store.snapshot("guarded_stats:_", T1) == {}
        store.close()
