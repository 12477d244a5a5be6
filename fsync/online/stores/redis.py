"""Redis online store: one hash per (view, version, entity) holding the encoded features and the packed
bookkeeping field `__m` (fsync/online/stores/base.py), replaced atomically by a Lua script per batch."""

from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import msgpack
import redis

from fsync.errors import FsyncError, InfraUnavailable
from fsync.online.stores.base import (
    LOG_MAX_ENTRIES,
    META,
    Batch,
    Lease,
    LeaseLost,
    LogEntry,
    OnlineStore,
    RawRow,
    Record,
    ViewRead,
    decode_record,
    parse_watermark,
)
from fsync.redact import redact_url

T = TypeVar("T")

# Fencing (every script below that changes a view): ARGV[2] is the view's lease key and ARGV[3] the token of
# the push holding it; '' when the caller holds no lease. A script runs atomically, so the check and the
# change are one step: a push that lost its lease changes nothing.
_FENCE = """
if ARGV[3] ~= '' then
  local lease = redis.call('GET', ARGV[2])
  if not lease or string.sub(lease, 1, #ARGV[3] + 1) ~= ARGV[3] .. ' ' then
    return redis.error_reply('FSYNC_LEASE_LOST')
  end
end
"""

# ARGV[1]: msgpack [names, columns, meta, expire_ms, replace, prefix, entities]; the hash of entity i is
# prefix .. entities[i] (named in the payload, not in KEYS: packing a thousand KEYS per call cost more than
# the rest of the push; on Redis Cluster the batch is split per node, fsync/online/stores/redis_cluster.py).
# It gets names[j] -> columns[j][i],
# `__m` -> meta[i], and PEXPIREAT expire_ms[i]. A script runs atomically, so every hash of the batch is
# replaced whole (DEL + HSET + PEXPIREAT): no reader sees half old, half new fields. `replace` false skips
# the DEL when every stored hash of the view is known to have exactly these fields (or none exists).
_WRITE_BODY = """
local batch = cmsgpack.unpack(ARGV[1])
local names, columns, meta, expire, replace = batch[1], batch[2], batch[3], batch[4], batch[5]
local prefix, entities = batch[6], batch[7]
local n = #names
local args = {}
for j = 1, n do args[2 * j - 1] = names[j] end
args[2 * n + 1] = '__m'
for i = 1, #entities do
  local key = prefix .. entities[i]
  for j = 1, n do args[2 * j] = columns[j][i] end
  args[2 * n + 2] = meta[i]
  if replace then redis.call('DEL', key) end
  redis.call('HSET', key, unpack(args))
  redis.call('PEXPIREAT', key, expire[i])
end
return #entities
"""
_WRITE = _FENCE + _WRITE_BODY

# ARGV[1] cursor, [4] MATCH pattern, [5] generation, [6] COUNT. Deletes matched hashes of another
# generation server-side (the generation is the last part of `__m`; a hash without `__m` is of an older
# layout and goes too).
_DELETE_STALE_BODY = """
local res = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[4], 'COUNT', ARGV[6])
local deleted = 0
for _, key in ipairs(res[2]) do
  local meta = redis.call('HGET', key, '__m')
  if not meta or string.match(meta, ':(%d+)$') ~= ARGV[5] then
    redis.call('DEL', key)
    deleted = deleted + 1
  end
end
return {res[1], deleted}
"""
_DELETE_STALE = _FENCE + _DELETE_STALE_BODY

# KEYS[1] the watermarks hash. ARGV[1] the view, [4] the watermark JSON.
_SET_WATERMARK = (
    _FENCE
    + """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1
"""
)

# A lease is a key without a TTL (a Redis with a volatile-* maxmemory-policy must not evict it) holding
# "<token> <expires at, ms of the server's clock> <holder JSON>"; its expiry is checked against TIME.
_LEASE_LIB = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function lease_parts(value)
  local token, expires = string.match(value, '^(%S+) (%d+) ')
  return token, tonumber(expires or '0')
end
"""

# KEYS[1] the lease key. ARGV[1] token, [2] ttl ms, [3] holder JSON. Taken when free, expired or already
# this token's; otherwise {0, the holder's value, its remaining ms}.
_ACQUIRE = (
    _LEASE_LIB
    + """
local now = now_ms()
local current = redis.call('GET', KEYS[1])
if current then
  local token, expires = lease_parts(current)
  if token ~= ARGV[1] and expires > now then return {0, current, expires - now} end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. (now + tonumber(ARGV[2])) .. ' ' .. ARGV[3])
return {1, '', 0}
"""
)

# KEYS[1] the lease key. ARGV[1] token, [2] ttl ms (renew) | ARGV[1] token (release) |
# ARGV[1] the stale holder's token, [2] the new token, [3] ttl ms, [4] holder JSON (take over).
_RENEW = (
    _LEASE_LIB
    + """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local token = lease_parts(current)
if token ~= ARGV[1] then return 0 end
local holder = string.match(current, '^%S+ %d+ (.*)$') or '{}'
redis.call('SET', KEYS[1], token .. ' ' .. (now_ms() + tonumber(ARGV[2])) .. ' ' .. holder)
return 1
"""
)
_RELEASE = (
    _LEASE_LIB
    + """
local current = redis.call('GET', KEYS[1])
if current and lease_parts(current) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
)
_TAKE_OVER = (
    _LEASE_LIB
    + """
local current = redis.call('GET', KEYS[1])
if current and lease_parts(current) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2] .. ' ' .. (now_ms() + tonumber(ARGV[3])) .. ' ' .. ARGV[4])
return 1
"""
)

# KEYS[1] the generations hash. ARGV[1] the view, [2] the least acceptable previous value.
_NEXT_GENERATION = """
local g = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local floor = tonumber(ARGV[2])
if g < floor then g = floor end
g = g + 1
redis.call('HSET', KEYS[1], ARGV[1], g)
return g
"""

_RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


class RedisStore(OnlineStore):
    _retryable: tuple[type[Exception], ...] = _RETRYABLE

    def __init__(
        self,
        url: str,
        prefix: str = "fsync",
        retries: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 10.0,
        log_max_entries: int = LOG_MAX_ENTRIES,
    ) -> None:
        self.url_redacted = redact_url(url)
        self.prefix = prefix
        self.retries, self.backoff_s = retries, backoff_s
        self._url, self._timeout_s = url, timeout_s
        try:
            self.r = self._client(decode_responses=True)
        except (ValueError, TypeError) as exc:
            raise FsyncError(
                f"FSYNC_REDIS_URL {self.url_redacted} is not a valid Redis URL"
                f" ({redact_url(str(exc)) if '://' in str(exc) else exc})."
            ) from None
        self._write = self.r.register_script(_WRITE)
        self._conn: Any = None
        self._pending: list[list[str | bytes]] = []  # ARGV of write calls sent, not yet confirmed
        self._scripts = {
            name: self.r.register_script(src)
            for name, src in (
                ("delete_stale", _DELETE_STALE),
                ("set_watermark", _SET_WATERMARK),
                ("acquire", _ACQUIRE),
                ("renew", _RENEW),
                ("release", _RELEASE),
                ("take_over", _TAKE_OVER),
                ("next_generation", _NEXT_GENERATION),
            )
        }
        self._fences: dict[str, str] = {}  # view -> token of the lease this store holds
        self._max_payload: int | None = None
        self._loaded = False  # the write script is loaded (a restarted Redis forgets it: NOSCRIPT, resent)
        self.log_max_entries = log_max_entries
        self._read_conn: Any = None  # the serving read path's own connection (one request at a time)
        self._read_lock = threading.Lock()
        self._log_pending: list[bytes] = []  # XADDs of logged reads, sent ahead of the next round trip
        self._raw: Any = None  # binary replies, for the log stream

    def _client(self, decode_responses: bool) -> Any:
        return redis.Redis.from_url(
            self._url,
            socket_timeout=self._timeout_s,
            socket_connect_timeout=self._timeout_s,
            decode_responses=decode_responses,
        )

    def _node_clients(self) -> list[redis.Redis]:
        """A client of each server that holds data (one here; every primary of a cluster)."""
        return [self.r]

    def _before_retry(self) -> None:  # noqa: B027 - optional hook
        """Called before an operation is retried (a cluster refreshes its slot map)."""

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Bounded retries with exponential backoff; every retried operation is idempotent."""
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except self._retryable as exc:
                if attempt == self.retries:
                    raise InfraUnavailable(
                        f"Redis at {self.url_redacted} is unavailable ({what} failed after {attempt + 1}"
                        f" attempts: {_first_line(exc)}); the watermark was not advanced, push again when"
                        " Redis is back."
                    ) from None
                time.sleep(self.backoff_s * 2**attempt)
                self._before_retry()
            except redis.ResponseError as exc:
                raise self._response_error(what, exc) from None
        raise AssertionError("unreachable")

    def _response_error(self, what: str, exc: redis.ResponseError) -> FsyncError:
        text = _first_line(exc)
        if "FSYNC_LEASE_LOST" in text:
            return LeaseLost(
                f"this push lost its lease on the view in {self.describe()} ({what} refused): it stalled past"
                " the lease's expiry, another push took over, or Redis restarted (or evicted it); nothing"
                " more was written and the watermark was not advanced: push again."
            )
        if isinstance(exc, redis.exceptions.OutOfMemoryError) or text.startswith("OOM"):
            return InfraUnavailable(
                f"Redis at {self.url_redacted} is out of memory ({what} refused: used memory is over"
                " maxmemory with maxmemory-policy noeviction); the view was partly rewritten and its"
                " watermark not advanced: free memory or raise maxmemory, then push again."
            )
        if "bulk length" in text or "Protocol error" in text:
            return FsyncError(
                f"Redis at {self.url_redacted} refused a command over its proto-max-bulk-len ({what}:"
                f" {text}); lower batch_size (or raise proto-max-bulk-len)."
            )
        if text.startswith("BUSY"):
            return InfraUnavailable(f"Redis at {self.url_redacted} is busy ({what}: {text}); push again.")
        return InfraUnavailable(f"Redis at {self.url_redacted} refused {what}: {text}")

    # -- the key layout: every key name is built by these three methods -------------------------------------
    # Single Redis: `<prefix>:<view>:<entity>` per entity, `<prefix>:<name>` for bookkeeping (watermarks,
    # generations, leases, the served-value log). Redis Cluster keeps the entity keys (each lands on its own
    # slot) and hash-tags the bookkeeping `{<prefix>}:<name>` so that all of it lives on one slot (the scripts
    # that fence a watermark by the lease touch both): RedisClusterStore.meta_key.
    def view_prefix(self, view: str) -> str:
        return f"{self.prefix}:{view}:"

    def key(self, view: str, entity: str) -> str:
        return f"{self.view_prefix(view)}{entity}"

    def meta_key(self, name: str) -> str:
        """A bookkeeping key (name starts with `__`, which no view id does)."""
        return f"{self.prefix}:{name}"

    def _fence(self, view: str) -> list[str]:
        token = self._fences.get(view, "")
        return [self._lease_key(view), token]

    def _payload_limit(self) -> int:
        """The largest argument Redis accepts (proto-max-bulk-len; 512 MB unless configured)."""
        if self._max_payload is None:
            limit = 512 * 1024 * 1024
            try:
                reply = self._node_clients()[0].config_get("proto-max-bulk-len")
                limit = int(reply.get("proto-max-bulk-len") or limit)
            except (redis.ResponseError, ValueError):  # CONFIG disabled (managed Redis): the default
                pass
            except _RETRYABLE:
                pass
            self._max_payload = limit
        return self._max_payload

    def write(self, view: str, batch: Batch, expire_offset_ms: int = 0) -> None:
        if not batch.entities:
            return
        payload = self._write_payload(view, batch, expire_offset_ms)
        if payload is None:
            return
        args: list[str | bytes] = [payload, *self._fence(view)]
        self._pending.append(args)
        try:
            if self._conn is None:
                self._conn = self.r.connection_pool.get_connection()
            if not self._loaded:
                self._write.sha = self.r.script_load(_WRITE)
                self._loaded = True
            self._conn.send_packed_command([_pack(["EVALSHA", self._write.sha, "0", *args])])
            # A few batches in flight: Redis applies batch k while Python encodes the next ones.
            while len(self._pending) > _IN_FLIGHT:
                self._receive()
        except (*_RETRYABLE, redis.ResponseError) as exc:
            self._recover(exc)

    def _write_payload(self, view: str, batch: Batch, expire_offset_ms: int) -> bytes | None:
        """The write script's ARGV[1] for a batch; None when it was over Redis' limit and was written in
        halves instead (through self.write)."""
        prefix = self.view_prefix(view)
        expire_ms = [e // 1000 + expire_offset_ms for e in batch.expires_at_us]
        if expire_ms and max(expire_ms) > _MAX_EXPIRE_MS:
            expire_ms = [min(e, _MAX_EXPIRE_MS) for e in expire_ms]
        replace = not batch.same_fields
        payload = msgpack.packb(
            [batch.names, batch.columns, batch.meta(), expire_ms, replace, prefix, batch.entities]
        )
        limit = self._payload_limit() - 1024
        if len(payload) > limit:
            if len(batch.entities) == 1:
                raise FsyncError(
                    f"entity {batch.entities[0]!r} of {view} is {len(payload):,} bytes encoded, over Redis'"
                    f" proto-max-bulk-len ({limit + 1024:,} bytes) at {self.url_redacted}: it can never be"
                    " written; raise proto-max-bulk-len or serve smaller values."
                )
            for half in batch.split():  # each entity is still replaced atomically
                self.write(view, half, expire_offset_ms)
            return None
        return payload

    def _receive(self) -> None:
        assert self._conn is not None
        reply = self._conn.read_response()
        if isinstance(reply, redis.ResponseError):
            raise reply
        self._pending.pop(0)

    def _recover(self, exc: Exception) -> None:
        """Resend every unconfirmed batch synchronously, with bounded retries (the writes are idempotent).
        A refusal (lease lost, out of memory) is final: resending cannot help."""
        self._release(broken=True)
        pending, self._pending = self._pending, []
        if isinstance(exc, redis.ResponseError) and not isinstance(exc, redis.exceptions.NoScriptError):
            raise self._response_error("write", exc) from None
        for args in pending:
            self._call("write", lambda args=args: self._write(args=args))

    def _release(self, broken: bool = False) -> None:
        if self._conn is not None:
            if broken:
                self._conn.disconnect()
            self.r.connection_pool.release(self._conn)
            self._conn = None

    def flush(self) -> None:
        try:
            while self._pending:
                self._receive()
        except (*_RETRYABLE, redis.ResponseError) as exc:
            self._recover(exc)
        self._release()

    def read(
        self, view: str, entities: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Record | None]:
        keys = [self.key(view, e) for e in entities]
        wanted = list(fields) if fields is not None else None

        def fetch() -> list[Any]:
            pipe = self.r.pipeline(transaction=False)
            for k in keys:
                if wanted is None:
                    pipe.hgetall(k)
                else:
                    pipe.hmget(k, [*wanted, META])
            return pipe.execute()

        replies = self._call("read", fetch) if keys else []
        if wanted is None:
            return [decode_record(r.pop(META, None), r) if r else None for r in replies]
        return [decode_record(r[-1], dict(zip(wanted, r[:-1], strict=True))) for r in replies]

    # -- the read path of serving: hand-packed RESP on one kept connection, hiredis-parsed replies -------
    def log_key(self) -> str:
        return self.meta_key("__served")

    def read_many(self, reads: Sequence[ViewRead], log: bytes | None = None) -> list[list[RawRow]]:
        try:
            return self._read_many(reads, log)
        except redis.ResponseError as exc:
            raise FsyncError(f"Redis at {self.url_redacted} refused a read: {exc}") from None

    def _read_many(self, reads: Sequence[ViewRead], log: bytes | None) -> list[list[RawRow]]:
        keyed = [([self.key(r.view, e) for e in r.entities], [*r.fields, META]) for r in reads]
        n = sum(len(keys) for keys, _ in keyed)
        flat = self._call("read", lambda: self._fetch(keyed, n)) if n else []
        out, i = [], 0
        for keys, _ in keyed:
            out.append(flat[i : i + len(keys)])
            i += len(keys)
        if log is not None:
            # The entry holds exactly the rows returned; it rides ahead of the next round trip to Redis (the
            # next read, or flush_log()): logging costs no round trip of its own.
            entry = self._log_entry(log, out)
            with self._read_lock:
                self._log_pending.append(entry)
        return out

    def _fetch(self, keyed: list[tuple[list[str], list[str]]], n: int) -> list[Any]:
        """The HMGET reply of every (keys, fields), in order: one round trip."""
        return self._roundtrip(b"".join(_hmgets(keys, fields) for keys, fields in keyed), n)

    def _log_entry(self, header: bytes, rows: list[list[RawRow]]) -> bytes:
        """The XADD of one served-value log entry: the request header and exactly the rows returned."""
        max_entries = str(self.log_max_entries)
        return _pack(
            ["XADD", self.log_key(), "MAXLEN", "~", max_entries, "*", "h", header, "r", msgpack.packb(rows)]
        )

    def flush_log(self) -> None:
        """Append the log entries still waiting for a round trip (at most the last logged read's)."""
        if self._log_pending:
            self._call("write log", lambda: self._roundtrip(b"", 0))

    def _connection(self) -> Any:
        if self._read_conn is None:
            self._read_conn = self.r.connection_pool.get_connection()
        return self._read_conn

    def _roundtrip(self, commands: bytes, replies: int) -> list[Any]:
        """Send the pending log entries and the pipelined commands as one write, read their replies (a
        broken connection is dropped; the pending entries are sent again with the retry)."""
        with self._read_lock:
            conn = self._connection()
            pending = len(self._log_pending)
            try:
                payload = b"".join([*self._log_pending, commands]) if pending else commands
                conn.send_packed_command([payload], check_health=False)
                logged = [conn.read_response() for _ in range(pending)]
                out = [conn.read_response() for _ in range(replies)]
            except BaseException:
                self._read_conn = None
                conn.disconnect()
                self.r.connection_pool.release(conn)
                raise
            del self._log_pending[:pending]
        _raise_refusal([*logged, *out])
        return out

    def _binary(self) -> Any:
        if self._raw is None:
            self._raw = self._client(decode_responses=False)
        return self._raw

    def log_entries(self, after: str | None, limit: int) -> list[LogEntry]:
        self.flush_log()
        start = f"({after}" if after else "-"
        got = self._call("read log", lambda: self._binary().xrange(self.log_key(), start, "+", count=limit))
        return [LogEntry(i.decode(), f[b"h"], f[b"r"]) for i, f in got]

    def log_trim(self, upto: str) -> int:
        ms, _, seq = upto.partition("-")
        minid = f"{ms}-{int(seq or 0) + 1}"  # XTRIM MINID keeps ids >= minid
        return int(
            self._call("trim log", lambda: self.r.xtrim(self.log_key(), minid=minid, approximate=False))
        )

    def log_length(self) -> int:
        self.flush_log()
        return int(self._call("log length", lambda: self.r.xlen(self.log_key())))

    def scan(self, view: str) -> Iterator[tuple[str, Record]]:
        prefix = self.view_prefix(view)
        keys = sorted(
            self._call("scan", lambda: list(self.r.scan_iter(match=_glob_escape(prefix) + "*", count=1000)))
        )
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]

            def fetch(chunk: list[str] = chunk) -> list[dict[str, str]]:
                pipe = self.r.pipeline(transaction=False)
                for k in chunk:
                    pipe.hgetall(k)
                return pipe.execute()

            for k, fields in zip(chunk, self._call("scan", fetch), strict=True):
                record = decode_record(fields.pop(META, None), fields) if fields else None
                if record is not None:
                    yield k[len(prefix) :], record

    def delete_stale(self, view: str, generation: int) -> int:
        pattern = _glob_escape(self.view_prefix(view)) + "*"
        cursor, deleted = "0", 0
        script = self._scripts["delete_stale"]
        while True:
            cur = cursor
            cursor, n = self._call(
                "delete stale",
                lambda cur=cur: script(args=[cur, *self._fence(view), pattern, str(generation), 1000]),
            )
            deleted += int(n)
            if str(cursor) == "0":
                return deleted

    def _watermarks(self) -> str:
        return self.meta_key("__watermarks")

    def get_watermark(self, view: str) -> dict[str, Any] | None:
        value = self._call("read watermark", lambda: self.r.hget(self._watermarks(), view))
        return parse_watermark(view, value, f"{self._watermarks()} at {self.url_redacted}")

    def set_watermark(self, view: str, watermark: dict[str, Any]) -> None:
        script = self._scripts["set_watermark"]
        args = [view, *self._fence(view), json.dumps(watermark)]
        self._call("write watermark", lambda: script(keys=[self._watermarks()], args=args))

    # -- leases -------------------------------------------------------------------------------------------
    def _lease_key(self, view: str) -> str:
        return self.meta_key(f"__lease:{view}")

    def _lease(self, view: str, value: str, remaining_ms: int) -> Lease:
        token, _, rest = value.partition(" ")
        holder = rest.partition(" ")[2]
        try:
            parsed = json.loads(holder)
        except ValueError:
            parsed = {}
        holder_dict = parsed if isinstance(parsed, dict) else {}
        return Lease(view, token, holder_dict, time.time() + max(remaining_ms, 0) / 1000)

    def acquire_lease(self, view: str, token: str, holder: dict[str, Any], ttl_s: float) -> Lease | None:
        script = self._scripts["acquire"]
        args = [token, int(ttl_s * 1000), json.dumps(holder, sort_keys=True)]
        ok, current, remaining = self._call(
            "take the lease", lambda: script(keys=[self._lease_key(view)], args=args)
        )
        if int(ok) == 1:
            self._fences[view] = token
            return None
        return self._lease(view, str(current), int(remaining))

    def renew_lease(self, view: str, token: str, ttl_s: float) -> bool:
        script = self._scripts["renew"]
        ok = self._call(
            "renew the lease", lambda: script(keys=[self._lease_key(view)], args=[token, int(ttl_s * 1000)])
        )
        return int(ok) == 1

    def release_lease(self, view: str, token: str) -> None:
        script = self._scripts["release"]
        self._fences.pop(view, None)
        self._call("release the lease", lambda: script(keys=[self._lease_key(view)], args=[token]))

    def take_over_lease(
        self, view: str, stale: Lease, token: str, holder: dict[str, Any], ttl_s: float
    ) -> bool:
        script = self._scripts["take_over"]
        args = [stale.token, token, int(ttl_s * 1000), json.dumps(holder, sort_keys=True)]
        ok = self._call("take over the lease", lambda: script(keys=[self._lease_key(view)], args=args))
        if int(ok) == 1:
            self._fences[view] = token
        return int(ok) == 1

    def next_generation(self, view: str, at_least: int) -> int:
        script = self._scripts["next_generation"]
        return int(
            self._call(
                "allocate a generation",
                lambda: script(keys=[self.meta_key("__generations")], args=[view, at_least]),
            )
        )

    def current_generation(self, view: str) -> int:
        value = self._call("read the generation", lambda: self.r.hget(self.meta_key("__generations"), view))
        return int(value) if value and str(value).isdigit() else 0

    # -- eviction -----------------------------------------------------------------------------------------
    def memory_policy(self, client: redis.Redis | None = None) -> tuple[int, str] | None:
        """(maxmemory bytes, maxmemory-policy) from INFO memory, or None when the server does not say."""
        node = client or self.r
        info = self._call("INFO memory", lambda: node.info("memory"))
        if "maxmemory_policy" not in info:
            return None
        return int(info.get("maxmemory") or 0), str(info["maxmemory_policy"])

    def eviction_risk(self) -> str | None:
        for client in self._node_clients():
            policy = self.memory_policy(client)
            if policy is None:
                continue
            maxmemory, name = policy
            # Every feature key has a TTL, so volatile-* policies may evict them as well as allkeys-*.
            if maxmemory > 0 and name != "noeviction":
                return (
                    f"Redis at {self.url_redacted}{self._node_name(client)} has maxmemory {maxmemory:,} bytes"
                    f" with maxmemory-policy {name}:"
                    " when full it evicts feature keys (every one has a TTL), and the view then silently"
                    " serves absent entities"
                )
        return None

    def _node_name(self, client: redis.Redis) -> str:
        """` (node host:port)` of a cluster node; nothing for a single Redis."""
        return ""

    def evicted_keys(self) -> int:
        total = 0
        for client in self._node_clients():
            info = self._call("INFO stats", lambda client=client: client.info("stats"))
            total += int(info.get("evicted_keys") or 0)
        return total

    def instance(self) -> str:
        """A token kept in Redis: it vanishes with the data if the server restarts without persistence."""
        key = self.meta_key("__instance")

        def token() -> str:
            mine = uuid.uuid4().hex
            previous = self.r.set(key, mine, nx=True, get=True)
            return str(previous or mine)

        return self._call("instance", token)

    def ping(self) -> None:
        for client in self._node_clients():
            self._call("ping", client.ping)

    def describe(self) -> str:
        return f"redis:{self.url_redacted} prefix={self.prefix}"

    def close(self) -> None:
        self._release(broken=bool(self._pending))
        if self._log_pending:
            self.flush_log()
        if self._read_conn is not None:
            self.r.connection_pool.release(self._read_conn)
            self._read_conn = None
        if self._raw is not None:
            self._raw.close()
        self.r.close()


_IN_FLIGHT = 3
_MAX_EXPIRE_MS = 253402300799999  # 9999-12-31T23:59:59.999Z: an enormous ttl expires at the end of time


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _raise_refusal(replies: list[Any]) -> None:
    """Raise the first error reply of a pipeline (read after every reply, so the connection stays usable)."""
    for reply in replies:
        if isinstance(reply, redis.ResponseError):
            raise reply


def _pack(args: list[str | bytes]) -> bytes:
    """RESP encoding of one command (redis-py's generic packer costs more than the rest of a push)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


@functools.lru_cache(maxsize=1024)
def _hmget_parts(fields: tuple[str, ...]) -> tuple[bytes, bytes]:
    tail = b"".join(b"$%d\r\n%s\r\n" % (len(f), f) for f in (x.encode() for x in fields))
    return b"*%d\r\n$5\r\nHMGET\r\n" % (len(fields) + 2), tail


def _hmgets(keys: list[str], fields: list[str]) -> bytes:
    """RESP of `HMGET key fields...` for each key: the fields are packed once, not once per key."""
    if not keys:
        return b""
    head, tail = _hmget_parts(tuple(fields))
    parts = []
    for key in keys:
        data = key.encode()
        parts.append(b"%s$%d\r\n%s\r\n%s" % (head, len(data), data, tail))
    return b"".join(parts)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


__all__ = ["RedisStore"]
