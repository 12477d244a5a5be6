"""Fixtures for fsync's tests: a fresh store per test (the private redis-server is in ../conftest.py), the dbt
fixture project built into a private DuckDB file."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fstore_testing.fixture_project import DbtFixture
from fstore_testing.redis_cluster import LocalCluster, start_cluster

from fsync.online.stores.base import OnlineStore
from fsync.online.stores.redis import RedisStore
from fsync.online.stores.redis_cluster import RedisClusterStore
from fsync.online.stores.sqlite import SQLiteStore


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A private 3-primary Redis Cluster shared by the tests that only read and write (never stop a node)."""
    cluster = start_cluster(tmp_path_factory.mktemp("redis-cluster"))
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite", "redis", "redis-cluster"])
def any_store_kind(request: pytest.FixtureRequest) -> str:
    """Every online store: the shared contract suite runs on each."""
    return str(request.param)


@pytest.fixture
def any_store_url(any_store_kind: str, request: pytest.FixtureRequest) -> str:
    """The URL of the Redis (single or cluster) that `any_store_kind` names; '' for SQLite."""
    if any_store_kind == "redis":
        return str(request.getfixturevalue("redis_url"))
    if any_store_kind == "redis-cluster":
        return str(request.getfixturevalue("redis_cluster").url)
    return ""


@pytest.fixture
def store(any_store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OnlineStore]:
    s: OnlineStore
    prefix = f"t{uuid.uuid4().hex[:8]}"
    if any_store_kind == "redis":
        s = RedisStore(request.getfixturevalue("redis_url"), prefix=prefix)
    elif any_store_kind == "redis-cluster":
        s = RedisClusterStore(request.getfixturevalue("redis_cluster").url, prefix=prefix)
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
