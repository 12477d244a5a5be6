"""Redis online store: one hash per (view, version, entity), replaced atomically by a Lua script per batch."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis

from fsync.errors import InfraUnavailable
from fsync.stores.base import GENERATION, OnlineStore, Record

T = TypeVar("T")

# KEYS: the entities' hash keys. ARGV per key: PEXPIREAT instant (ms), field count n, then n name/value items.
# A script runs atomically, so every hash of the batch is replaced whole (DEL + HSET + PEXPIREAT).
_WRITE = """
local i = 1
for k = 1, #KEYS do
  local key = KEYS[k]
  local expire_ms = ARGV[i]
  local n = tonumber(ARGV[i + 1])
  i = i + 2
  redis.call('DEL', key)
  redis.call('HSET', key, unpack(ARGV, i, i + n - 1))
  redis.call('PEXPIREAT', key, expire_ms)
  i = i + n
end
return #KEYS
"""

# ARGV: cursor, MATCH pattern, generation, COUNT. Deletes matched hashes of another generation server-side.
_DELETE_STALE = """
local res = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[4])
local deleted = 0
for _, key in ipairs(res[2]) do
  if redis.call('HGET', key, '__gen') ~= ARGV[3] then
    redis.call('DEL', key)
    deleted = deleted + 1
  end
end
return {res[1], deleted}
"""

_RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable redis url>"
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class RedisStore(OnlineStore):
    def __init__(self, url: str, prefix: str = "fsync", retries: int = 3, backoff_s: float = 0.5,
                 timeout_s: float = 10.0) -> None:
        self.url_redacted = redact_url(url)
        self.prefix = prefix
        self.retries, self.backoff_s = retries, backoff_s
        try:
            self.r = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                          decode_responses=True)
        except ValueError as exc:
            from fsync.errors import FsyncError

            raise FsyncError(f"FSYNC_REDIS_URL {self.url_redacted} is not a valid Redis URL ({exc}).") from None
        self._write = self.r.register_script(_WRITE)
        self._delete_stale = self.r.register_script(_DELETE_STALE)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Bounded retries with exponential backoff; every retried operation is idempotent."""
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except _RETRYABLE as exc:
                if attempt == self.retries:
                    raise InfraUnavailable(
                        f"Redis at {self.url_redacted} is unavailable ({what} failed after {attempt + 1} attempts:"
                        f" {exc}); the watermark was not advanced, push again when Redis is back."
                    ) from None
                time.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def key(self, view: str, entity: str) -> str:
        return f"{self.prefix}:{view}:{entity}"

    def write(self, view: str, records: list[Record], expire_offset_ms: int = 0) -> None:
        if not records:
            return
        keys = []
        argv: list[Any] = []
        prefix = f"{self.prefix}:{view}:"
        for r in records:
            keys.append(prefix + r.entity)
            argv.append(r.expires_at_us // 1000 + expire_offset_ms)
            argv.append(len(r.fields))
            argv.extend(r.fields)
        self._call("write", lambda: self._write(keys=keys, args=argv))

    def raw(self, view: str, entity: str) -> dict[str, str] | None:
        fields = self._call("read", lambda: self.r.hgetall(self.key(view, entity)))
        return fields or None

    def scan(self, view: str) -> Iterator[tuple[str, dict[str, str]]]:
        prefix = f"{self.prefix}:{view}:"
        keys = sorted(self._call("scan", lambda: list(self.r.scan_iter(match=_glob_escape(prefix) + "*", count=1000))))
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]

            def fetch(chunk: list[str] = chunk) -> list[dict[str, str]]:
                pipe = self.r.pipeline(transaction=False)
                for k in chunk:
                    pipe.hgetall(k)
                return pipe.execute()

            for k, fields in zip(chunk, self._call("scan", fetch), strict=True):
                if fields:
                    yield k[len(prefix) :], fields

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
        return str(self._call("info", lambda: self.r.info("server"))["run_id"])

    def ping(self) -> None:
        self._call("ping", self.r.ping)

    def describe(self) -> str:
        return f"redis:{self.url_redacted} prefix={self.prefix}"

    def close(self) -> None:
        self.r.close()


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


__all__ = ["GENERATION", "RedisStore", "redact_url"]
