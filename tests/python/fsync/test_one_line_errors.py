"""A table of bad inputs and broken infrastructure: each ends in its exit code (2 the user's input, 3 the
infrastructure) with one line, no traceback, and nothing written. Real files, DuckDB, SQLite, Redis."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
import redis
from fstore_testing.artifacts import fv_meta, write_artifacts
from fstore_testing.cli import fsync
from fstore_testing.dbt import ROOT
from fstore_testing.redis_server import free_port, start_redis

T = "2024-06-01T00:00:00"
COLS = {"user_id": "bigint", "feature_ts": "timestamp", "x": "varchar"}


@dataclass
class Case:
    args: list[str]
    code: int
    message: str
    env: dict[str, str] = field(default_factory=dict)
    subprocess_limit: int | None = None  # run `python -m fsync` with RLIMIT_FSIZE (a full disk)
    per_view: bool = False  # a problem of one view: its line of the push summary (the others still push)


def _project(tmp: Path, payload: str = "'v'", rows: int = 50) -> dict[str, str]:
    db = tmp / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "create or replace table main.fv as select range as user_id,"
        f" timestamp '2024-05-31 12:00' as feature_ts, {payload} as x from range({rows})"
    )
    con.close()
    write_artifacts(tmp / "target", [{"name": "fv", "meta": fv_meta(), "columns": COLS}])
    return {
        "FSYNC_PROJECT_DIR": str(tmp),
        "FSYNC_DUCKDB_PATH": str(db),
        "FSYNC_TARGET_PATH": "target",
        "FSYNC_STORE": "sqlite",
        "FSYNC_SQLITE_PATH": str(tmp / "online.sqlite"),
    }


def _toml(text: str, message: str = "fsync.toml") -> Callable[[Path], Case]:
    def make(tmp: Path) -> Case:
        (tmp / "fsync.toml").write_text(text)
        return Case(["push", "--as-of", T], 2, message)

    return make


def _manifest(content: bytes | None) -> Callable[[Path], Case]:
    def make(tmp: Path) -> Case:
        path = tmp / "target" / "manifest.json"
        path.unlink()
        if content is None:
            path.mkdir()
        else:
            path.write_bytes(content)
        return Case(["push", "--as-of", T], 2, "manifest.json")

    return make


def _version_abc(tmp: Path) -> Case:
    path = tmp / "target" / "manifest.json"
    doc = json.loads(path.read_text())
    next(iter(doc["nodes"].values()))["version"] = "abc"
    path.write_text(json.dumps(doc))
    return Case(["push", "--as-of", T], 2, "has version 'abc', not a number")


def _sqlite_locked(tmp: Path) -> Case:
    holder = sqlite3.connect(str(tmp / "online.sqlite"), isolation_level=None)
    holder.execute("create table if not exists held (x)")
    holder.execute("begin exclusive")
    _HELD.append(holder)
    return Case(["push", "--as-of", T], 3, "is locked by another writer", {"FSYNC_SQLITE_TIMEOUT": "0.2"})


_HELD: list[sqlite3.Connection] = []


def _sqlite_full(tmp: Path) -> Case:
    _project(tmp, payload="repeat('x', 2000)", rows=3000)
    return Case(["push", "--as-of", T], 3, "the SQLite online store", subprocess_limit=150_000)


def _redis(tmp: Path, *config: str) -> str:
    port = free_port()
    _SERVERS.append(start_redis(tmp, port))
    client = redis.Redis(port=port)
    for i in range(0, len(config), 2):
        client.config_set(config[i], config[i + 1])
    return f"redis://127.0.0.1:{port}/0"


_SERVERS: list[subprocess.Popen[bytes]] = []


def _redis_env(url: str) -> dict[str, str]:
    return {"FSYNC_STORE": "redis", "FSYNC_REDIS_URL": url, "FSYNC_KEY_PREFIX": "e"}


def _redis_oom(tmp: Path) -> Case:
    _project(tmp, payload="repeat('x', 500)", rows=20000)
    url = _redis(tmp, "maxmemory", "2mb", "maxmemory-policy", "noeviction")
    return Case(["push", "--as-of", T], 3, "is out of memory", _redis_env(url))


def _redis_bulk_len(tmp: Path) -> Case:
    # One entity bigger than proto-max-bulk-len (1mb, its least value) can never be written.
    _project(tmp, payload="case when user_id = 7 then repeat('x', 1200000) else 'v' end", rows=20)
    url = _redis(tmp, "proto-max-bulk-len", "1mb")
    return Case(["push", "--as-of", T], 2, "over Redis' proto-max-bulk-len", _redis_env(url), per_view=True)


def _tampered_watermark(tmp: Path) -> Case:
    url = _redis(tmp)
    redis.Redis.from_url(url).hset("e:__watermarks", "fv:_", "{not json")
    return Case(["push", "--as-of", T], 3, "is not fsync's (modified outside fsync?)", _redis_env(url))


def _tampered_hash(tmp: Path) -> Case:
    url = _redis(tmp)
    assert fsync({**_project(tmp), **_redis_env(url)}, "push", "--as-of", T).exit_code == 0
    redis.Redis.from_url(url).hset("e:fv:_:3", "__m", "garbage")
    return Case(["get", "fv", "3", "--as-of", T], 3, "not in fsync's layout", _redis_env(url))


def _bad_port(port: str) -> Callable[[Path], Case]:
    def make(tmp: Path) -> Case:
        return Case(
            ["push", "--as-of", T], 2, "is not a valid Redis URL", _redis_env(f"redis://127.0.0.1:{port}/0")
        )

    return make


def _cluster_down(tmp: Path) -> Case:
    env = {**_redis_env(f"redis://127.0.0.1:{free_port()}/0"), "FSYNC_REDIS_CLUSTER": "true"}
    return Case(["push", "--as-of", T], 3, "Redis Cluster at redis://127.0.0.1:", env)


def _not_a_cluster(tmp: Path) -> Case:
    env = {**_redis_env(_redis(tmp)), "FSYNC_REDIS_CLUSTER": "true"}
    return Case(["push", "--as-of", T], 3, "Redis Cluster at redis://127.0.0.1:", env)


def _cluster_brace_prefix(tmp: Path) -> Case:
    env = {**_redis_env("redis://127.0.0.1:1/0"), "FSYNC_REDIS_CLUSTER": "true", "FSYNC_KEY_PREFIX": "a{b}"}
    return Case(["push", "--as-of", T], 2, "holds a brace", env)


def _spark_dir(tmp: Path, delta: bool) -> Case:
    path = tmp / "target" / "manifest.json"
    doc = json.loads(path.read_text())
    doc["metadata"]["adapter_type"] = "spark"
    path.write_text(json.dumps(doc))
    warehouse = tmp / "spark-warehouse"
    if delta:
        (warehouse / "main.db" / "fv" / "_delta_log").mkdir(parents=True)
        return Case(["push", "--as-of", T], 2, "is a Delta table", {"FSYNC_SPARK_WAREHOUSE": str(warehouse)},
                    per_view=True)
    return Case(["push", "--as-of", T], 2, "Spark warehouse dir", {"FSYNC_SPARK_WAREHOUSE": str(warehouse)})


def _unwritable_out(tmp: Path) -> Case:
    (tmp / "a_file").write_text("")
    return Case(["catalog", "--out", str(tmp / "a_file" / "site"), "--no-profile"], 2, "a_file")


def _unwritable_lock(tmp: Path) -> Case:
    path = tmp / "target" / "manifest.json"
    doc = json.loads(path.read_text())
    next(iter(doc["nodes"].values()))["compiled_code"] = "select 1"
    path.write_text(json.dumps(doc))
    return Case(["lock", "--lock-file", str(tmp / "missing" / "dir" / "fstore.lock.json")], 2, "missing")


CASES: dict[str, Callable[[Path], Case]] = {
    "retries=-1": _toml("retries = -1\n"),
    "retry_backoff=nan": _toml("retry_backoff = nan\n"),
    "fsync = 3": _toml("fsync = 3\n"),
    "batch_size=1.9": _toml("batch_size = 1.9\n"),
    "batch_size=true": _toml("batch_size = true\n"),
    "sqlite_path=list": _toml('sqlite_path = ["a"]\n'),
    "lookback=bad": _toml('lookback = "2 days"\n', "setting lookback is '2 days'"),
    "memory_limit=sql": _toml(
        "duckdb_memory_limit = \"1GB'; attach 'x' as y; --\"\n", "setting duckdb_memory_limit is"
    ),
    "manifest array": _manifest(b"[1, 2]"),
    "manifest binary": _manifest(bytes(range(256))),
    "manifest directory": _manifest(None),
    "version abc": _version_abc,
    "sqlite locked": _sqlite_locked,
    "sqlite disk full": _sqlite_full,
    "redis oom": _redis_oom,
    "redis bulk len": _redis_bulk_len,
    "redis port 99999": _bad_port("99999"),
    "redis port abc": _bad_port("abc"),
    "tampered watermark": _tampered_watermark,
    "tampered hash": _tampered_hash,
    "redis cluster down": _cluster_down,
    "redis not a cluster": _not_a_cluster,
    "redis cluster brace prefix": _cluster_brace_prefix,
    "spark warehouse missing": lambda tmp: _spark_dir(tmp, delta=False),
    "spark delta table": lambda tmp: _spark_dir(tmp, delta=True),
    "unwritable --out": _unwritable_out,
    "unwritable --lock-file": _unwritable_lock,
}


def _run(case: Case, env: dict[str, str], as_json: bool) -> tuple[int, str, str]:
    args = case.args + (["--json"] if as_json else [])
    if case.subprocess_limit is None:
        res = fsync(env, *args)
        return res.exit_code, res.stdout, res.stderr
    limit = case.subprocess_limit

    def full_disk() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "fsync", *args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        preexec_fn=full_disk,
        timeout=120,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("name", list(CASES))
def test_one_line_error(tmp_path: Path, name: str, as_json: bool) -> None:
    try:
        env = _project(tmp_path)
        case = CASES[name](tmp_path)
        env = {**env, **case.env}
        before = sorted(p.name for p in tmp_path.iterdir())
        code, out, err = _run(case, env, as_json)
        assert code == case.code, (out, err)
        assert "Traceback" not in out + err
        if case.per_view:
            if as_json:
                message = json.loads(out)["views"][0]["message"]
            else:
                message = next(line for line in out.splitlines() if line.startswith("  fv: "))
            assert case.message in message and "\n" not in message, out
        elif as_json:
            error = json.loads(out)["error"]
            assert error["exit_code"] == case.code and case.message in error["message"], error
            assert "\n" not in error["message"]
        else:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("fsync: error: "), err
            assert case.message in lines[0], lines[0]
        # Nothing written: no watermark in either store, no new file (such as one named "['a']").
        after = sorted(p.name for p in tmp_path.iterdir())
        assert [n for n in after if n not in before and not n.startswith("online.sqlite")] == []
        if (tmp_path / "online.sqlite").exists() and name != "sqlite locked":
            con = sqlite3.connect(str(tmp_path / "online.sqlite"))
            tables = {r[0] for r in con.execute("select name from sqlite_master")}
            if "fsync_watermarks" in tables:
                assert con.execute("select count(*) from fsync_watermarks").fetchone() == (0,)
            con.close()
        reachable = "port" not in name and not name.startswith("redis cluster")
        if "FSYNC_REDIS_URL" in env and reachable and name != "tampered hash":
            client = redis.Redis.from_url(env["FSYNC_REDIS_URL"], decode_responses=True)
            assert client.hget("e:__watermarks", "fv:_") in (None, "{not json")
    finally:
        for con in _HELD:
            con.close()
        _HELD.clear()
        for server in _SERVERS:
            server.kill()
            server.wait()
        _SERVERS.clear()


def test_get_reads_a_read_only_sqlite_store(tmp_path: Path) -> None:
    """`fsync get` on a store file nobody may write (a deployed copy): run as an unprivileged user."""
    shared = Path(f"/tmp/fsync-ro-{os.getpid()}-{tmp_path.name}")
    shared.mkdir(mode=0o755)
    try:
        env = _project(shared)
        assert fsync(env, "push", "--as-of", T).exit_code == 0
        for path in shared.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o444)
        shared.chmod(0o555)
        proc = subprocess.run(
            [sys.executable, "-m", "fsync", "get", "fv", "7", "--as-of", T, "--json"],
            env={**os.environ, **env, "PYTHONPATH": str(ROOT), "HOME": "/tmp"},
            cwd="/tmp",
            capture_output=True,
            text=True,
            user=65534 if os.geteuid() == 0 else None,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["entities"][0]["values"] == {"x": "v"}
    finally:
        shared.chmod(0o755)
        shutil.rmtree(shared, ignore_errors=True)
    assert datetime.fromisoformat(T)
