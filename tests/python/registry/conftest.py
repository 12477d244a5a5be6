"""Fixtures of the registry tests: the demo project built once on a private DuckDB file."""

from __future__ import annotations

import pytest
from dbt_runner import DbtRunner, write_profiles
from registry_support import Demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("registry")
    profiles = root / "profiles"
    write_profiles(profiles)
    duckdb_path = root / "fstore.duckdb"
    env = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
        "FSTORE_DUCKDB_PATH": str(duckdb_path),
    }
    runner = DbtRunner(
        target="duckdb", profiles_dir=profiles, target_path=root / "target", log_path=root / "logs", env=env
    )
    runner.ok("build")
    return Demo(
        root=root, target_path=root / "target", duckdb_path=duckdb_path, profiles_dir=profiles, env=env
    )
