"""Redis Cluster online store: the Redis store (fsync/online/stores/redis.py) with its writes and reads
grouped per primary.

Key layout. An entity's hash keeps the single-Redis name `<prefix>:<view>:<entity>`, so the entities of a view
spread over every slot and node. The bookkeeping is hash-tagged `{<prefix>}:<name>` (watermarks, generations,
leases, lease epochs, the served-value log): one slot, so a script can fence a watermark by its lease.

Writes. A batch is split by the node that owns each entity's slot; each part is one call of the write script
on that node (a script may touch keys of several slots of its own node: `allow-cross-slot-keys`, Redis >= 7).
Fencing: the lease lives on the bookkeeping slot, so every primary also holds a fence copy of it per view,
`<prefix>:__fence:<view>:{<tag>}` (the tag puts it on a slot of that node) holding `<epoch> <token>`. Taking a
lease increments the view's epoch atomically with it, then writes the fence on every primary unless a higher
epoch is there already; each write or delete on a node checks that node's fence. A push whose lease was taken
over is refused on each node from the moment the new holder fenced it, which is before the new holder's first
write there. A slot that moves to a node without the fence (resharding during a push) refuses the writes:
the push fails (exit 3) and the next one fences the new layout.

Reads. One pipelined round trip per node, sent to every node before any reply is read. A redirection
(MOVED/ASK after a failover or resharding), CLUSTERDOWN or a lost node is retried on a refreshed slot map,
then reported as the store being unavailable: never a value from a node that no longer owns the key.
"""

from __future__ import annotations

import binascii
import contextlib
import functools
import itertools
import json
import operator
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from redis.retry import Retry

from fsync.errors import FsyncError, InfraUnavailable
from fsync.online.stores.base import Batch, Lease, LeaseLost
from fsync.online.stores.redis import (
    _ACQUIRE,
    _DELETE_STALE_BODY,
    _IN_FLIGHT,
    _RETRYABLE,
    _TAKE_OVER,
    _WRITE_BODY,
    RedisStore,
    _glob_escape,
    _hmgets,
    _pack,
    _raise_refusal,
)

SLOTS = 16384

_CROSS_SLOT = "#!lua flags=allow-cross-slot-keys\n"
# ARGV[2] the fence key of this node, ARGV[3] `<epoch> <token>` of the push holding the lease ('' : none).
_NODE_FENCE = """
if ARGV[3] ~= '' and redis.call('GET', ARGV[2]) ~= ARGV[3] then
  return redis.error_reply('FSYNC_LEASE_LOST')
end
"""
_NODE_WRITE = _CROSS_SLOT + _NODE_FENCE + _WRITE_BODY
_NODE_DELETE_STALE = _CROSS_SLOT + _NODE_FENCE + _DELETE_STALE_BODY


def _with_epoch(script: str, taken: str) -> str:
    """A lease script that, where it takes the lease (the `taken` return), also increments the view's epoch
    (KEYS[2], the epochs hash, field KEYS[1]) and returns it last."""
    assert script.count(taken) == 1, taken
    return script.replace(taken, taken[:-1] + ", redis.call('HINCRBY', KEYS[2], KEYS[1], 1)}")


_CLUSTER_ACQUIRE = _with_epoch(_ACQUIRE, "return {1, '', 0}")
_CLUSTER_TAKE_OVER = _with_epoch(_TAKE_OVER.replace("\nreturn 1\n", "\nreturn {1}\n"), "return {1}")

# KEYS[1] a fence key. ARGV[1] the epoch, ARGV[2] the fence value: set unless a later epoch holds it.
_SET_FENCE = """
local current = redis.call('GET', KEYS[1])
if current and tonumber(string.match(current, '^(%d+) ')) > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""

# Replies of a cluster in motion: refresh the slot map and try again (every retried operation is idempotent).
_CLUSTER_RETRYABLE = (
    *_RETRYABLE,
    redis.exceptions.ClusterError,
    redis.exceptions.ClusterDownError,
    redis.exceptions.MovedError,
    redis.exceptions.AskError,
    redis.exceptions.TryAgainError,
    redis.exceptions.MasterDownError,
)
_NON_LOCAL = ("non local key", "do not hash to the same slot", "CLUSTERDOWN", "MOVED", "ASK", "TRYAGAIN")


def entity_slots(prefix: str, entities: Sequence[str]) -> list[int]:
    """The cluster slot of each key `prefix` + entity: the CRC16 of the prefix is computed once and continued
    over each entity (an entity with a `{` is hashed by Redis' hash-tag rule; the prefix never has one)."""
    crc, start, mask = binascii.crc_hqx, binascii.crc_hqx(prefix.encode(), 0), SLOTS - 1
    return [key_slot((prefix + e).encode()) if "{" in e else crc(e.encode(), start) & mask for e in entities]


@functools.lru_cache(maxsize=SLOTS)
def slot_tag(slot: int) -> str:
    """The shortest decimal text whose CRC16 puts a `{tag}` key on `slot`."""
    for i in itertools.count():
        text = str(i)
        if binascii.crc_hqx(text.encode(), 0) % SLOTS == slot:
            return text
    raise AssertionError("unreachable")


@dataclass
class _Lane:
    """The write connection to one primary and the parts of batches sent on it, not yet confirmed."""

    conn: Any
    pending: list[tuple[str, Batch, int]] = field(default_factory=list)


class RedisClusterStore(RedisStore):
    _retryable = _CLUSTER_RETRYABLE

    def __init__(self, url: str, prefix: str = "fsync", **options: Any) -> None:
        if "{" in prefix or "}" in prefix:
            raise FsyncError(
                f"setting key_prefix {prefix!r} holds a brace; on Redis Cluster fsync hash-tags its keys"
                " itself: use letters, digits, '_', '-', ':' or '.'."
            )
        super().__init__(url, prefix=prefix, **options)
        self._node_write: dict[str, Any] = {}  # node name -> the write script registered on its client
        self._node_delete: dict[str, Any] = {}
        self._loaded_on: set[str] = set()  # nodes that have the write script loaded
        self._lanes: dict[str, _Lane] = {}
        self._read_conns: dict[str, Any] = {}
        self._epochs: dict[str, int] = {}  # view -> epoch of the lease this store holds
        self._scripts["acquire"] = self.r.register_script(_CLUSTER_ACQUIRE)
        self._scripts["take_over"] = self.r.register_script(_CLUSTER_TAKE_OVER)
        self._scripts["set_fence"] = self.r.register_script(_SET_FENCE)
        self._slot_nodes: list[str] = []
        self._stale = False  # the client's slot map is to be asked again
        self._nodes: dict[str, ClusterNode] = {}
        self._lowest: dict[str, int] = {}

    def _client(self, decode_responses: bool) -> Any:
        try:
            return RedisCluster.from_url(
                self._url,
                socket_timeout=self._timeout_s,
                socket_connect_timeout=self._timeout_s,
                decode_responses=decode_responses,
                retry=Retry(NoBackoff(), 2),  # fsync retries with its own backoff (RedisStore._call)
            )
        except (redis.ConnectionError, redis.TimeoutError, redis.exceptions.RedisClusterException) as exc:
            raise InfraUnavailable(
                f"Redis Cluster at {self.url_redacted} is unavailable ({exc}); check redis_url (any node of"
                " the cluster) and that the cluster is up."
            ) from None

    # -- the slot map --------------------------------------------------------------------------------------
    def _map(self) -> list[str]:
        """Slot -> name of the primary that owns it, from the client's slot map (asked again after a node was
        lost or a key redirected)."""
        if not self._slot_nodes:
            if self._stale:
                self._stale = False
                # still in motion: what follows fails the same way, and a retry (or the caller) reports it
                with contextlib.suppress(redis.RedisError, redis.exceptions.RedisClusterException):
                    self.r.nodes_manager.initialize()
            cache = self.r.nodes_manager.slots_cache
            owners: list[str] = []
            nodes: dict[str, ClusterNode] = {}
            for slot in range(SLOTS):
                holders = cache.get(slot)
                if not holders:
                    raise InfraUnavailable(
                        f"Redis Cluster at {self.url_redacted} does not cover slot {slot} (cluster down or"
                        " being resharded); push or read again when it is ok."
                    )
                owners.append(holders[0].name)
                nodes[holders[0].name] = holders[0]
            self._lowest = {}
            for slot, name in enumerate(owners):
                self._lowest.setdefault(name, slot)
            self._slot_nodes, self._nodes = owners, nodes
        return self._slot_nodes

    def _before_retry(self) -> None:
        self._drop_connections()

    def _call(self, what: str, fn: Any) -> Any:
        try:
            return super()._call(what, fn)
        except FsyncError:
            self._drop_connections()  # the next operation asks the cluster for its slot map again
            raise

    def _node_clients(self) -> list[redis.Redis]:
        self._map()
        return [self.r.get_redis_connection(node) for node in self._nodes.values()]

    def _node_name(self, client: redis.Redis) -> str:
        kwargs = client.connection_pool.connection_kwargs
        return f" (node {kwargs.get('host')}:{kwargs.get('port')})"

    def node_key(self, node: str, name: str) -> str:
        """A bookkeeping key on a slot of `node` (a fence, an instance token)."""
        self._map()
        return f"{self.prefix}:{name}:{{{slot_tag(self._lowest[node])}}}"

    def meta_key(self, name: str) -> str:
        return f"{{{self.prefix}}}:{name}"

    def _group(self, prefix: str, entities: Sequence[str]) -> dict[str, list[int]]:
        """Node name -> the positions of the entities (keys `prefix` + entity) it owns, in order."""
        owners = self._map()
        nodes = [owners[slot] for slot in entity_slots(prefix, entities)]
        if len(set(nodes)) == 1:
            return {nodes[0]: list(range(len(nodes)))} if nodes else {}
        groups: dict[str, list[int]] = {}
        for i, node in enumerate(nodes):
            groups.setdefault(node, []).append(i)
        return groups

    # -- leases and fences ---------------------------------------------------------------------------------
    def _fence_primaries(self, view: str, token: str, epoch: int) -> None:
        """After taking the lease (at `epoch`): fence the view on every primary, unless a later epoch (a push
        that took the lease since) already did; from then on this store's writes of the view are fenced."""
        self._fences[view], self._epochs[view] = token, epoch
        value = f"{epoch} {token}"
        script = self._scripts["set_fence"]
        for node in self._map_nodes():
            key = self.node_key(node, f"__fence:{view}")
            ok = self._call("fence the lease", lambda key=key: script(keys=[key], args=[epoch, value]))
            if int(ok) != 1:
                self._fences.pop(view, None)
                raise LeaseLost(
                    f"another push took the lease on {view} in {self.describe()} while this one was fencing"
                    " it; nothing was written: push again."
                )

    def _map_nodes(self) -> list[str]:
        self._map()
        return list(self._nodes)

    def acquire_lease(self, view: str, token: str, holder: dict[str, Any], ttl_s: float) -> Lease | None:
        script = self._scripts["acquire"]
        args = [token, int(ttl_s * 1000), json.dumps(holder, sort_keys=True)]
        keys = [self._lease_key(view), self.meta_key("__epochs")]
        got = self._call("take the lease", lambda: script(keys=keys, args=args))
        if int(got[0]) == 1:
            self._fence_primaries(view, token, int(got[-1]))
            return None
        return self._lease(view, str(got[1]), int(got[2]))

    def take_over_lease(
        self, view: str, stale: Lease, token: str, holder: dict[str, Any], ttl_s: float
    ) -> bool:
        script = self._scripts["take_over"]
        args = [stale.token, token, int(ttl_s * 1000), json.dumps(holder, sort_keys=True)]
        keys = [self._lease_key(view), self.meta_key("__epochs")]
        got = self._call("take over the lease", lambda: script(keys=keys, args=args))
        if not isinstance(got, list):  # 0: the stale holder is no longer the holder
            return False
        self._fence_primaries(view, token, int(got[-1]))
        return True

    def release_lease(self, view: str, token: str) -> None:
        self._epochs.pop(view, None)
        super().release_lease(view, token)

    def _node_fence(self, view: str, node: str) -> list[str]:
        token = self._fences.get(view)
        value = f"{self._epochs.get(view, 0)} {token}" if token else ""
        return [self.node_key(node, f"__fence:{view}"), value]

    # -- writes ----------------------------------------------------------------------------------------------
    def write(self, view: str, batch: Batch, expire_offset_ms: int = 0) -> None:
        if not batch.entities:
            return
        prefix = self.view_prefix(view)
        groups = self._group(prefix, batch.entities)
        for node, positions in groups.items():
            part = batch if len(groups) == 1 else _select(batch, positions)
            payload = self._write_payload(view, part, expire_offset_ms)
            if payload is None:
                continue  # over the size limit: written in halves
            try:
                lane = self._lane(node)
                lane.pending.append((view, part, expire_offset_ms))
                args = [
                    "EVALSHA",
                    self._node_write_script(node).sha,
                    "0",
                    payload,
                    *self._node_fence(view, node),
                ]
                lane.conn.send_packed_command([_pack(args)])
                while len(lane.pending) > _IN_FLIGHT:
                    self._receive_on(lane)
            except (*_CLUSTER_RETRYABLE, redis.ResponseError) as exc:
                self._recover(exc)
                return  # every part of this batch was resent synchronously with the rest

    def _lane(self, node: str) -> _Lane:
        lane = self._lanes.get(node)
        if lane is None:
            client = self.r.get_redis_connection(self._nodes[node])
            lane = self._lanes[node] = _Lane(client.connection_pool.get_connection())
        return lane

    def _node_write_script(self, node: str) -> Any:
        script = self._node_write.get(node)
        if script is None:
            client = self.r.get_redis_connection(self._nodes[node])
            script = self._node_write[node] = client.register_script(_NODE_WRITE)
        if node not in self._loaded_on:
            script.sha = self.r.get_redis_connection(self._nodes[node]).script_load(_NODE_WRITE)
            self._loaded_on.add(node)
        return script

    def _receive_on(self, lane: _Lane) -> None:
        reply = lane.conn.read_response()
        if isinstance(reply, redis.ResponseError):
            raise reply
        lane.pending.pop(0)

    def _recover(self, exc: Exception) -> None:
        """Resend every unconfirmed part synchronously on a refreshed slot map, with bounded retries (the
        writes are idempotent). A refusal (lease lost, out of memory) is final."""
        pending = [item for lane in self._lanes.values() for item in lane.pending]
        self._drop_connections()
        text = str(exc)
        if (
            isinstance(exc, redis.ResponseError)
            and not isinstance(exc, (redis.exceptions.NoScriptError, *_CLUSTER_RETRYABLE))
            and not any(marker in text for marker in _NON_LOCAL)
        ):
            raise self._response_error("write", exc) from None
        self._before_retry()
        for view, part, offset in pending:
            self._call("write", lambda v=view, p=part, o=offset: self._write_now(v, p, o))

    def _write_now(self, view: str, batch: Batch, expire_offset_ms: int) -> None:
        """Write a batch synchronously, one script call per node (a retry after a failure)."""
        prefix = self.view_prefix(view)
        groups = self._group(prefix, batch.entities)
        for node, positions in groups.items():
            part = batch if len(groups) == 1 else _select(batch, positions)
            payload = self._write_payload(view, part, expire_offset_ms)
            if payload is not None:
                script = self._node_write.get(node) or self._node_write_script(node)
                try:
                    script(args=[payload, *self._node_fence(view, node)])
                except redis.ResponseError as exc:
                    if any(marker in str(exc) for marker in _NON_LOCAL):
                        raise redis.exceptions.ClusterError(str(exc)) from None
                    raise

    def flush(self) -> None:
        try:
            for lane in self._lanes.values():
                while lane.pending:
                    self._receive_on(lane)
        except (*_CLUSTER_RETRYABLE, redis.ResponseError) as exc:
            self._recover(exc)
        self._release_lanes()

    def _release(self, node: str, conn: Any, broken: bool) -> None:
        """Give a connection back to its node's pool (disconnected when its state is unknown)."""
        if broken:
            conn.disconnect()
        if node in self._nodes:
            self.r.get_redis_connection(self._nodes[node]).connection_pool.release(conn)

    def _release_lanes(self, broken: bool = False) -> None:
        for node, lane in self._lanes.items():
            self._release(node, lane.conn, broken)
        self._lanes = {}

    def _drop_connections(self) -> None:
        self._slot_nodes, self._stale = [], True
        self._release_lanes(broken=True)
        for node, conn in self._read_conns.items():
            self._release(node, conn, broken=True)
        self._read_conns = {}

    def delete_stale(self, view: str, generation: int) -> int:
        pattern = _glob_escape(self.view_prefix(view)) + "*"
        deleted = 0
        for node in self._map_nodes():
            script = self._node_delete.get(node)
            if script is None:
                client = self.r.get_redis_connection(self._nodes[node])
                script = self._node_delete[node] = client.register_script(_NODE_DELETE_STALE)
            cursor = "0"
            while True:
                cur = cursor
                cursor, n = self._call(
                    "delete stale",
                    lambda cur=cur, script=script, node=node: script(
                        args=[cur, *self._node_fence(view, node), pattern, str(generation), 1000]
                    ),
                )
                deleted += int(n)
                if str(cursor) == "0":
                    break
        return deleted

    def instance(self) -> str:
        """One token per primary, named by its lowest slot: a node that restarted without its data changes
        it; a failover to a replica (which has the token) does not."""

        def tokens() -> str:
            parts = []
            for node in self._map_nodes():
                client = self.r.get_redis_connection(self._nodes[node])
                mine = uuid.uuid4().hex
                previous = client.set(self.node_key(node, "__instance"), mine, nx=True, get=True)
                parts.append((self._lowest[node], previous or mine))
            return ",".join(f"{slot}={token}" for slot, token in sorted(parts))

        return self._call("instance", tokens)

    # -- the read path of serving: one pipelined round trip per node --------------------------------------
    def _fetch(self, keyed: list[tuple[list[str], list[str]]], n: int = 0) -> list[Any]:
        """Every HMGET, grouped per node: all nodes' commands are sent before any reply is read. Pending log
        entries ride ahead of the commands to the log's node."""
        owners = self._map()
        per_node: dict[str, tuple[list[bytes], list[int]]] = {}
        position = 0
        for keys, fields in keyed:
            groups: dict[str, list[str]] = {}
            for key in keys:
                node = owners[key_slot(key.encode())]
                groups.setdefault(node, []).append(key)
                per_node.setdefault(node, ([], []))[1].append(position)
                position += 1
            for node, node_keys in groups.items():
                per_node[node][0].append(_hmgets(node_keys, fields))
        with self._read_lock:
            pending = len(self._log_pending)
            log_node = owners[key_slot(self.log_key().encode())] if pending else None
            if log_node is not None:
                per_node.setdefault(log_node, ([], []))
            sent: list[tuple[Any, str]] = []
            try:
                for node, (commands, _) in per_node.items():
                    conn = self._node_read_conn(node)
                    head = self._log_pending if node == log_node else []
                    conn.send_packed_command([b"".join([*head, *commands])], check_health=False)
                    sent.append((conn, node))
                out: list[Any] = [None] * position
                logged: list[Any] = []
                for conn, node in sent:
                    if node == log_node:
                        logged = [conn.read_response() for _ in range(pending)]
                    for pos in per_node[node][1]:
                        out[pos] = conn.read_response()
            except BaseException:
                for conn, node in sent:
                    self._read_conns.pop(node, None)
                    self._release(node, conn, broken=True)
                raise
            del self._log_pending[:pending]
        _raise_refusal([*logged, *out])
        return out

    def _node_read_conn(self, node: str) -> Any:
        conn = self._read_conns.get(node)
        if conn is None:
            client = self.r.get_redis_connection(self._nodes[node])
            conn = self._read_conns[node] = client.connection_pool.get_connection()
        return conn

    def flush_log(self) -> None:
        if self._log_pending:
            self._call("write log", lambda: self._fetch([]))

    def describe(self) -> str:
        return f"redis-cluster:{self.url_redacted} prefix={self.prefix}"

    def close(self) -> None:
        self._release_lanes(broken=any(lane.pending for lane in self._lanes.values()))
        if self._log_pending:
            self.flush_log()
        self._drop_connections()
        if self._raw is not None:
            self._raw.close()
        self.r.close()


def _select(batch: Batch, positions: list[int]) -> Batch:
    """The entities of a batch at `positions` (in order)."""
    if len(positions) == 1:
        i = positions[0]

        def pick(values: Sequence[Any]) -> list[Any]:
            return [values[i]]
    else:
        getter = operator.itemgetter(*positions)

        def pick(values: Sequence[Any]) -> list[Any]:
            return list(getter(values))

    return Batch(
        batch.names,
        pick(batch.entities),
        pick(batch.feature_ts_us),
        pick(batch.expires_at_us),
        [pick(c) for c in batch.columns],
        batch.generation,
        batch.same_fields,
        pick(batch.packed_meta) if batch.packed_meta is not None else None,
    )


__all__ = ["RedisClusterStore", "slot_tag"]
