"""A private redis-server on a free loopback port, for tests and benchmarks (never the shared one)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis


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
