"""A real `fsync serve` process on a free loopback port, and plain HTTP requests to it (urllib: no client
library between the test and the wire)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from fstore_testing.redis_server import free_port


@dataclass
class Server:
    proc: subprocess.Popen[str]
    url: str

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def stop(self) -> str:
        """Stop the server (SIGTERM) and return everything it printed."""
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out


def start_server(env: dict[str, str], *args: str) -> Server:
    """`python -m fsync serve` with `env`, waiting until GET /health answers (at most 30 s)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fsync", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(proc, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fsync serve exited with {proc.returncode}:\n{proc.communicate()[0]}")
        try:
            status, _ = server.request("GET", "/health")
            if status == 200:
                return server
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"fsync serve did not answer on port {port}:\n{server.stop()}")
