"""The online store interface. Both implementations (Redis, SQLite) pass one shared contract test suite.

A record is one entity of one view version: its encoded fields (features plus the META fields), and the
instant (microseconds, UTC) after which it is no longer served (feature_ts + ttl, inclusive).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fsync.online.encoding import decode_value
from fsync.timeutil import to_us

FEATURE_TS = "__feature_ts"
PUSHED_AT = "__pushed_at"
EXPIRES_AT = "__expires_at"
GENERATION = "__gen"
META = (FEATURE_TS, PUSHED_AT, EXPIRES_AT, GENERATION)


@dataclass(frozen=True)
class Batch:
    """Entities of one view written together, column by column: entity i gets names[j] -> columns[j][i]
    (features, __feature_ts, __expires_at), plus the `constants` name/value pairs (__pushed_at, __gen)."""

    names: list[str]
    constants: list[str]  # flat [name, value, ...]
    entities: list[str]
    expires_at_us: list[int]
    columns: list[list[str]]
    same_fields: bool = False  # every stored entity of the view already has exactly these fields

    def fields(self, i: int) -> dict[str, str]:
        out = {name: column[i] for name, column in zip(self.names, self.columns, strict=True)}
        out.update(zip(self.constants[::2], self.constants[1::2], strict=True))
        return out


def decode_fields(raw: dict[str, str]) -> dict[str, Any]:
    """Feature values by name, plus `__feature_ts` and `__pushed_at`, decoded (bookkeeping dropped)."""
    return {k: decode_value(v) for k, v in raw.items() if k not in (EXPIRES_AT, GENERATION)}


def alive(raw: dict[str, str], now: datetime) -> bool:
    return int(raw[EXPIRES_AT]) >= to_us(now)


class OnlineStore(ABC):
    """One small interface: write whole entities atomically, read them back, keep a watermark per view."""

    @abstractmethod
    def write(self, view: str, batch: Batch, expire_offset_ms: int = 0) -> None:
        """Replace each entity of the batch atomically (no reader sees half old, half new fields).

        expire_offset_ms shifts a store's *physical* expiry clock (wall now - as_of) so that a push made
        with an explicit --as-of keeps each value for the same remaining lifetime; reads with an explicit
        `now` always use the exact expiry instant stored with the record.
        """

    @abstractmethod
    def raw(self, view: str, entity: str) -> dict[str, str] | None:
        """The stored encoded fields of one entity, or None when absent (expired entries may still show)."""

    @abstractmethod
    def scan(self, view: str) -> Iterator[tuple[str, dict[str, str]]]:
        """Every stored (entity, encoded fields) of a view."""

    @abstractmethod
    def delete_stale(self, view: str, generation: int) -> int:
        """Delete the view's entities not written by `generation` (after a full refresh); returns how many."""

    @abstractmethod
    def get_watermark(self, view: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def set_watermark(self, view: str, watermark: dict[str, Any]) -> None: ...

    @abstractmethod
    def describe(self) -> str:
        """Where the store is, secrets redacted."""

    def instance(self) -> str:
        """Identifies the store instance: a change during a push means a restart may have lost writes."""
        return "local"

    def flush(self) -> None:  # noqa: B027 - optional hook
        """Wait until every write sent so far is applied (a store may pipeline its writes)."""

    def purge_expired(self, view: str, now: datetime) -> int:
        """Physically drop entries expired at `now` (a store with native expiry need not)."""
        return 0

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def get(self, view: str, entity: str, now: datetime) -> dict[str, Any] | None:
        """The decoded features of an entity served at `now`, or None when absent or expired."""
        raw = self.raw(view, entity)
        if raw is None or not alive(raw, now):
            return None
        return decode_fields(raw)

    def snapshot(self, view: str, now: datetime) -> dict[str, dict[str, str]]:
        """Every entity served at `now` with its encoded fields (for tests and comparisons)."""
        return {e: raw for e, raw in self.scan(view) if alive(raw, now)}
