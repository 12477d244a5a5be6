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
    LogEntry,
    OnlineStore,
    RawRow,
    Record,
    ViewRead,
    decode_record,
)
from fsync.redact import redact_url

T = TypeVar("T")

# KEYS: the entities' hash keys. ARGV[1]: msgpack [names, columns, meta, expire_ms, replace]; entity i gets
# names[j] -> columns[j][i], `__m` -> meta[i], and PEXPIREAT expire_ms[i]. A script runs atomically, so every
# hash of the batch is replaced whole (DEL + HSET + PEXPIREAT): no reader sees half old, half new fields.
# `replace` false skips the DEL when every stored hash of the view is known to have exactly these fields.
_WRITE = """
local batch = cmsgpack.unpack(ARGV[1])
local names, columns, meta, expire, replace = batch[1], batch[2], batch[3], batch[4], batch[5]
local n = #names
local args = {}
for j = 1, n do args[2 * j - 1] = names[j] end
args[2 * n + 1] = '__m'
for i = 1, #KEYS do
  local key = KEYS[i]
  for j = 1, n do args[2 * j] = columns[j][i] end
  args[2 * n + 2] = meta[i]
  if replace then redis.call('DEL', key) end
  redis.call('HSET', key, unpack(args))
  redis.call('PEXPIREAT', key, expire[i])
end
return #KEYS
"""

# ARGV: cursor, MATCH pattern, generation, COUNT. Deletes matched hashes of another generation server-side
# (the generation is the last part of `__m`; a hash without `__m` is of an older layout and goes too).
_DELETE_STALE = """
local res = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[4])
local deleted = 0
for _, key in ipairs(res[2]) do
  local meta = redis.call('HGET', key, '__m')
  if not meta or string.match(meta, ':(%d+)$') ~= ARGV[3] then
    redis.call('DEL', key)
    deleted = deleted + 1
  end
end
return {res[1], deleted}
"""

_RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


class RedisStore(OnlineStore):
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
        try:
            self.r = redis.Redis.from_url(
                url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, decode_responses=True
            )
        except ValueError as exc:
            raise FsyncError(
                f"FSYNC_REDIS_URL {self.url_redacted} is not a valid Redis URL ({exc})."
            ) from None
        self._write = self.r.register_script(_WRITE)
        self._conn: Any = None
        self._pending: list[tuple[list[str], bytes]] = []
        self._delete_stale = self.r.register_script(_DELETE_STALE)
        self._url, self._timeout_s = url, timeout_s
        self.log_max_entries = log_max_entries
        self._read_conn: Any = None  # the serving read path's own connection (one request at a time)
        self._read_lock = threading.Lock()
        self._log_pending: list[bytes] = []  # XADDs of logged reads, sent ahead of the next round trip
        self._raw: redis.Redis | None = None  # binary replies, for the log stream

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Bounded retries with exponential backoff; every retried operation is idempotent."""
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except _RETRYABLE as exc:
                if attempt == self.retries:
                    raise InfraUnavailable(
                        f"Redis at {self.url_redacted} is unavailable ({what} failed after {attempt + 1}"
                        " attempts:"
                        f" {exc}); the watermark was not advanced, push again when Redis is back."
                    ) from None
                time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def key(self, view: str, entity: str) -> str:
        return f"{self.prefix}:{view}:{entity}"

    def write(self, view: str, batch: Batch, expire_offset_ms: int = 0) -> None:
        if not batch.entities:
            return
        prefix = f"{self.prefix}:{view}:"
        keys = [prefix + e for e in batch.entities]
        expire_ms = [str(e // 1000 + expire_offset_ms) for e in batch.expires_at_us]
        payload = msgpack.packb([batch.names, batch.columns, batch.meta(), expire_ms, not batch.same_fields])
        self._pending.append((keys, payload))
        try:
            if self._conn is None:
                self._conn = self.r.connection_pool.get_connection()
            if self._write.sha is None:
                self._write.sha = self.r.script_load(_WRITE)
            self._conn.send_packed_command(
                [_pack(["EVALSHA", self._write.sha, str(len(keys)), *keys, payload])]
            )
            # One batch in flight: Redis applies batch k while Python encodes batch k + 1.
            while len(self._pending) > 1:
                self._receive()
        except (*_RETRYABLE, redis.ResponseError):
            self._recover()

    def _receive(self) -> None:
        assert self._conn is not None
        reply = self._conn.read_response()
        if isinstance(reply, redis.ResponseError):
            raise reply
        self._pending.pop(0)

    def _recover(self) -> None:
        """Resend every unconfirmed batch synchronously, with bounded retries (the writes are idempotent)."""
        self._release(broken=True)
        pending, self._pending = self._pending, []
        for keys, payload in pending:
            self._call("write", lambda keys=keys, payload=payload: self._write(keys=keys, args=[payload]))

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
        except (*_RETRYABLE, redis.ResponseError):
            self._recover()
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
        return f"{self.prefix}:__served"

    def read_many(self, reads: Sequence[ViewRead], log: bytes | None = None) -> list[list[RawRow]]:
        try:
            return self._read_many(reads, log)
        except redis.ResponseError as exc:
            raise FsyncError(f"Redis at {self.url_redacted} refused a read: {exc}") from None

    def _read_many(self, reads: Sequence[ViewRead], log: bytes | None) -> list[list[RawRow]]:
        keyed = [([self.key(r.view, e) for e in r.entities], [*r.fields, META]) for r in reads]
        commands = b"".join(_hmgets(keys, fields) for keys, fields in keyed)
        n = sum(len(keys) for keys, _ in keyed)
        flat = self._call("read", lambda: self._roundtrip(commands, n)) if n else []
        out, i = [], 0
        for keys, _ in keyed:
            out.append(flat[i : i + len(keys)])
            i += len(keys)
        if log is not None:
            # The entry holds exactly the rows returned; it rides ahead of the next round trip to Redis (the
            # next read, or flush_log()): logging costs no round trip of its own.
            entry = _pack(
                [
                    "XADD",
                    self.log_key(),
                    "MAXLEN",
                    "~",
                    str(self.log_max_entries),
                    "*",
                    "h",
                    log,
                    "r",
                    msgpack.packb(out),
                ]
            )
            with self._read_lock:
                self._log_pending.append(entry)
        return out

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
        for reply in (*logged, *out):
            if isinstance(reply, redis.ResponseError):
                raise reply
        return out

    def _binary(self) -> redis.Redis:
        if self._raw is None:
            self._raw = redis.Redis.from_url(
                self._url, socket_timeout=self._timeout_s, socket_connect_timeout=self._timeout_s
            )
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
        prefix = f"{self.prefix}:{view}:"
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
        pattern = _glob_escape(f"{self.prefix}:{view}:") + "*"
        cursor, deleted = "0", 0
        while True:
            cur = cursor
            cursor, n = self._call(
                "delete stale", lambda cur=cur: self._delete_stale(args=[cur, pattern, str(generation), 1000])
            )
            deleted += int(n)
            if str(cursor) == "0":
                return deleted

    def _watermarks(self) -> str:
        return f"{self.prefix}:__watermarks"

    def get_watermark(self, view: str) -> dict[str, Any] | None:
        value = self._call("read watermark", lambda: self.r.hget(self._watermarks(), view))
        return json.loads(value) if value else None

    def set_watermark(self, view: str, watermark: dict[str, Any]) -> None:
        self._call("write watermark", lambda: self.r.hset(self._watermarks(), view, json.dumps(watermark)))

    def instance(self) -> str:
        """A token kept in Redis: it vanishes with the data if the server restarts without persistence."""
        key = f"{self.prefix}:__instance"

        def token() -> str:
            mine = uuid.uuid4().hex
            previous = self.r.set(key, mine, nx=True, get=True)
            return str(previous or mine)

        return self._call("instance", token)

    def ping(self) -> None:
        self._call("ping", self.r.ping)

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
