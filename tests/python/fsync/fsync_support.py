"""Support for fsync's tests: a private redis-server, store settings, the dbt fixture project, synthetic
dbt artifacts. (A module of its own: tests import it, and `conftest` is a name other test dirs use too.)"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import redis

from fsync.stores.base import OnlineStore
from fsync.stores.redis_store import RedisStore
from fsync.stores.sqlite_store import SQLiteStore

ROOT = Path(__file__).resolve().parents[3]
FIXTURE_PROJECT = Path(__file__).resolve().parent / "fixture_project"
DBT = str(Path(sys.executable).parent / "dbt")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(workdir: Path, port: int, password: str | None = None) -> subprocess.Popen[bytes]:
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        raise RuntimeError(
            "redis-server is not installed (apt-get install redis-server); fsync's tests need it."
        )
    args = [
        redis_server,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(workdir),
    ]
    if password:
        args += ["--requirepass", password]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port, password=password)
    for _ in range(100):
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"private redis-server on port {port} did not start")


def store_settings(kind: str, redis_url: str, tmp_path: Path, prefix: str = "fsync") -> dict[str, str]:
    """FSYNC_* environment selecting a fresh store of this kind."""
    if kind == "redis":
        return {
            "FSYNC_STORE": "redis",
            "FSYNC_REDIS_URL": redis_url,
            "FSYNC_KEY_PREFIX": f"{prefix}{uuid.uuid4().hex[:8]}",
        }
    return {"FSYNC_STORE": "sqlite", "FSYNC_SQLITE_PATH": str(tmp_path / f"{prefix}.sqlite")}


def open_store_from_env(env: dict[str, str]) -> OnlineStore:
    if env["FSYNC_STORE"] == "redis":
        return RedisStore(env["FSYNC_REDIS_URL"], prefix=env["FSYNC_KEY_PREFIX"])
    return SQLiteStore(Path(env["FSYNC_SQLITE_PATH"]))


class DbtFixture:
    """The fixture dbt project, built into a private DuckDB file."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.duckdb_path = workdir / "warehouse.duckdb"
        self.target = workdir / "target"
        self.env = {
            **os.environ,
            "DBT_PROFILES_DIR": str(FIXTURE_PROJECT),
            "FSYNC_FIXTURE_DUCKDB": str(self.duckdb_path),
            "FSYNC_FIXTURE_PACKAGES": str(workdir / "dbt_packages"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }

    def dbt(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DBT, *args, "--log-path", str(self.workdir / "logs")],
            cwd=FIXTURE_PROJECT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def build(self, as_of: str) -> None:
        res = self.dbt("build", "--target-path", str(self.target), "--vars", json.dumps({"as_of": as_of}))
        # guarded_stats' test fails on purpose; everything else must pass.
        if res.returncode not in (0, 1) or "ERROR=1 " not in res.stdout:
            raise AssertionError(
                f"dbt build failed unexpectedly:\n{res.stdout[-4000:]}\n{res.stderr[-2000:]}"
            )

    def fsync_env(self) -> dict[str, str]:
        return {
            "FSYNC_PROJECT_DIR": str(FIXTURE_PROJECT),
            "FSYNC_TARGET_PATH": str(self.target),
            "FSYNC_DUCKDB_PATH": str(self.duckdb_path),
        }


def write_artifacts(
    target: Path,
    views: list[dict[str, Any]],
    statuses: dict[str, str] | None = None,
    manifest_version: int = 12,
    run_results_version: int = 6,
) -> None:
    """Minimal manifest.json + run_results.json for models described as
    {name, schema, alias?, version?, meta (feature_view), columns {name: type}, contract (bool)}."""
    target.mkdir(parents=True, exist_ok=True)
    nodes: dict[str, Any] = {}
    results = []
    for v in views:
        uid = f"model.proj.{v['name']}" + (f".v{v['version']}" if v.get("version") else "")
        nodes[uid] = {
            "unique_id": uid,
            "resource_type": "model",
            "name": v["name"],
            "version": v.get("version"),
            "latest_version": v.get("version"),
            "database": "db",
            "schema": v.get("schema", "main"),
            "alias": v.get("alias", v["name"]),
            "config": {
                "meta": {"feature_view": v["meta"]},
                "contract": {"enforced": v.get("contract", True)},
            },
            "columns": {c: {"name": c, "data_type": t} for c, t in v.get("columns", {}).items()},
        }
        results.append({"unique_id": uid, "status": (statuses or {}).get(v["name"], "success")})
    (target / "manifest.json").write_text(
        json.dumps(
            {
                "metadata": {
                    "dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{manifest_version}.json",
                    "adapter_type": "duckdb",
                },
                "nodes": nodes,
            }
        )
    )
    (target / "run_results.json").write_text(
        json.dumps(
            {
                "metadata": {
                    "dbt_schema_version": f"https://schemas.getdbt.com/dbt/run-results/v{run_results_version}.json"
                },
                "results": results,
            }
        )
    )
