"""Redis online store: one hash per (view, version, entity) holding the encoded features and the packed
bookkeeping field `__m` (fsync/online/stores/base.py), replaced atomically by a Lua script per batch."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import msgpack
import redis

from fsync.errors import FsyncError, InfraUnavailable
from fsync.online.stores.base import META, Batch, OnlineStore, Record, decode_record
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
        self.r.close()


def _pack(args: list[str | bytes]) -> bytes:
    """RESP encoding of one command (redis-py's generic packer costs more than the rest of a push)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


__all__ = ["RedisStore"]
