"""Fixtures for fsync's tests: a fresh store per test (the private redis-server is in ../conftest.py), the dbt
fixture project built into a private DuckDB file."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fstore_testing.fixture_project import DbtFixture

from fsync.online.stores.base import OnlineStore
from fsync.online.stores.redis import RedisStore
from fsync.online.stores.sqlite import SQLiteStore


@pytest.fixture(params=["sqlite", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(store_kind: str, redis_url: str, tmp_path: Path) -> Iterator[OnlineStore]:
    s: OnlineStore
    if store_kind == "redis":
        s = RedisStore(redis_url, prefix=f"t{uuid.uuid4().hex[:8]}")
    else:
        s = SQLiteStore(tmp_path / "online.sqlite")
    yield s
    s.close()


@pytest.fixture(scope="session")
def dbt_fixture(tmp_path_factory: pytest.TempPathFactory) -> DbtFixture:
    fx = DbtFixture(tmp_path_factory.mktemp("dbt"))
    res = fx.dbt("deps")
    assert res.returncode == 0, res.stdout + res.stderr
    return fx
