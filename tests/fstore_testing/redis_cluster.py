"""A private Redis Cluster of local redis-server processes on free loopback ports (tests and benchmarks).

Three primaries (optionally one replica each) made with `redis-cli --cluster create`, every node in its own
directory under `workdir`, no persistence. Nodes can be stopped and started again (same port, same
nodes.conf) to simulate an outage or a failover.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from fstore_testing.redis_server import free_port


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed (apt-get install redis-server); fsync's tests need it.")
    return path


@dataclass
class ClusterNode:
    port: int
    bus_port: int  # its own: the default, port + 10000, may be taken or past 65535
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            _binary("redis-server"),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-port", str(self.bus_port),
            "--cluster-node-timeout", "1000",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.workdir),
        ]  # fmt: skip
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"private cluster redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)


@dataclass
class LocalCluster:
    primaries: list[ClusterNode]
    replicas: list[ClusterNode] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.primaries[0].port}/0"

    @property
    def nodes(self) -> list[ClusterNode]:
        return [*self.primaries, *self.replicas]

    def wait_ok(self, timeout_s: float = 20.0) -> None:
        """Until every running node reports cluster_state:ok and agrees on the slots (all 16384 covered)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                states = [n.client().cluster("info") for n in self.nodes if n.proc is not None]
                ok = [s.get("cluster_state") == "ok" and int(s["cluster_slots_ok"]) == 16384 for s in states]
                if all(ok):
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the private Redis Cluster did not become ok")
            time.sleep(0.1)

    def wait_failover(self, stopped: ClusterNode, timeout_s: float = 20.0) -> ClusterNode:
        """The replica promoted in place of a stopped primary, once the cluster is ok again."""
        deadline = time.monotonic() + timeout_s
        while True:
            for node in self.replicas:
                try:
                    if node.proc is not None and node.client().info("replication")["role"] == "master":
                        self.wait_ok(max(1.0, deadline - time.monotonic()))
                        return node
                except redis.RedisError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"no replica took over from the primary on port {stopped.port}")
            time.sleep(0.1)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def start_cluster(workdir: Path, primaries: int = 3, replicas: int = 0) -> LocalCluster:
    """A new cluster: `primaries` primaries, each with `replicas` replicas."""
    count = primaries * (1 + replicas)
    ports: list[int] = []
    while len(ports) < 2 * count:  # a client port and a bus port per node, all distinct
        if (port := free_port()) not in ports:
            ports.append(port)
    made = [ClusterNode(ports[2 * i], ports[2 * i + 1], workdir / f"node{i}") for i in range(count)]
    cluster = LocalCluster(made[:primaries], made[primaries:])
    try:
        for node in made:
            node.start()
        create = subprocess.run(
            [
                _binary("redis-cli"),
                "--cluster",
                "create",
                *(f"127.0.0.1:{n.port}" for n in made),
                "--cluster-replicas",
                str(replicas),
                "--cluster-yes",
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=60,
        )
        if create.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {create.stdout[-2000:]}{create.stderr}")
        cluster.wait_ok()
        if replicas:
            # --cluster create picks each primary's replicas itself: read back who replicates whom
            roles = {n.port: n.client().info("replication")["role"] for n in made}
            cluster.primaries = [n for n in made if roles[n.port] == "master"]
            cluster.replicas = [n for n in made if roles[n.port] != "master"]
            _wait_replicas_in_sync(cluster)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_replicas_in_sync(cluster: LocalCluster, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        links = [r.client().info("replication").get("master_link_status") for r in cluster.replicas]
        if all(link == "up" for link in links):
            return
        time.sleep(0.1)
    raise RuntimeError("the private Redis Cluster's replicas did not sync")
