"""The online store interface. Both implementations (Redis, SQLite) pass one shared contract test suite.

A record is one entity of one view version: its encoded feature values, and one bookkeeping field `__m` that
packs the matched feature_ts, the instant after which the record is no longer served (feature_ts + ttl,
inclusive) and the push generation that wrote it, as `<feature_ts_us>:<expires_at_us>:<generation>`
(microseconds since the epoch, UTC). Reads fetch only the requested features plus `__m`, in one round trip.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fsync.online.encoding import decode_value
from fsync.timeutil import from_us, to_us

META = "__m"  # the one bookkeeping field of a stored record
LOG_MAX_ENTRIES = 1_000_000  # default bound of the served-value log (oldest entries dropped beyond it)
LAYOUT = 2  # recorded in every watermark: a store written with another layout gets a full push


def pack_meta(feature_ts_us: int, expires_at_us: int, generation: int) -> str:
    return f"{feature_ts_us}:{expires_at_us}:{generation}"


def unpack_meta(text: str) -> tuple[int, int, int]:
    ts, expires, generation = text.split(":")
    return int(ts), int(expires), int(generation)


@dataclass(frozen=True)
class Batch:
    """Entities of one view written together, column by column: entity i gets names[j] -> columns[j][i]
    (the encoded features) and `__m` packed from feature_ts_us[i], expires_at_us[i] and the generation."""

    names: list[str]
    entities: list[str]
    feature_ts_us: list[int]
    expires_at_us: list[int]
    columns: list[list[str]]
    generation: int
    same_fields: bool = False  # every stored entity of the view already has exactly these fields

    def meta(self) -> list[str]:
        g = self.generation
        return [f"{ts}:{exp}:{g}" for ts, exp in zip(self.feature_ts_us, self.expires_at_us, strict=True)]


@dataclass(frozen=True)
class Record:
    """One stored entity of a view, decoded: the features read (all, or the requested ones)."""

    feature_ts: datetime
    expires_at_us: int
    generation: int
    values: dict[str, Any]

    def alive(self, now: datetime) -> bool:
        return self.expires_at_us >= to_us(now)


def decode_record(meta: str | None, fields: dict[str, str | None]) -> Record | None:
    """A record from its stored `__m` and encoded fields; None when the entity is absent (no `__m`)."""
    if meta is None:
        return None
    ts, expires, generation = unpack_meta(meta)
    values = {k: decode_value(v) for k, v in fields.items() if v is not None}
    return Record(from_us(ts), expires, generation, values)


@dataclass(frozen=True)
class ViewRead:
    """The entities of one view to read, and the fields to read of each (features only: `__m` is added)."""

    view: str  # the view's store id, e.g. user_purchase_features:v2
    entities: Sequence[str]
    fields: Sequence[str]


# A raw row: the stored text of each requested field, then `__m`; every item None for an absent entity.
RawRow = list[str | None]


@dataclass(frozen=True)
class LogEntry:
    """One entry of the served-value log as stored: its id (`<ms>-<seq>`, increasing), the request header
    (msgpack, built by fsync.online.served_log) and the raw rows served, per view (msgpack)."""

    id: str
    header: bytes
    rows: bytes


def log_id_key(entry_id: str) -> tuple[int, int]:
    """A log entry id as a sortable pair (Redis stream ids `<ms>-<seq>`; SQLite row ids `<rowid>-0`)."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


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
    def read(
        self, view: str, entities: Sequence[str], fields: Sequence[str] | None = None
    ) -> list[Record | None]:
        """The stored records of `entities` (None where absent; expired ones may still show), in one round
        trip. `fields` None reads every feature; otherwise only those (missing ones are left out)."""

    @abstractmethod
    def scan(self, view: str) -> Iterator[tuple[str, Record]]:
        """Every stored (entity, record) of a view."""

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

    def ping(self) -> None:  # noqa: B027 - optional hook
        """Check that the store answers (InfraUnavailable when not)."""

    # -- the read path of serving ------------------------------------------------------------------
    @abstractmethod
    def read_many(self, reads: Sequence[ViewRead], log: bytes | None = None) -> list[list[RawRow]]:
        """Per read, per entity, the raw row (requested fields' stored text, then `__m`) of many views in one
        round trip. With `log` (a msgpack request header), one entry is appended to the served-value log:
        the header and exactly the rows returned, at no round trip of its own (SQLite: at once; Redis: ahead
        of the next round trip, or at flush_log() / close())."""

    def flush_log(self) -> None:  # noqa: B027 - optional hook
        """Append the served-value log entries still waiting for a round trip to the store."""

    @abstractmethod
    def log_entries(self, after: str | None, limit: int) -> list[LogEntry]:
        """Up to `limit` log entries with an id greater than `after` (from the first when None), oldest
        first."""

    @abstractmethod
    def log_trim(self, upto: str) -> int:
        """Drop the log entries with an id up to `upto` (inclusive), once they are exported durably."""

    @abstractmethod
    def log_length(self) -> int:
        """How many entries the served-value log holds."""

    def get(self, view: str, entity: str, now: datetime) -> Record | None:
        """The record of an entity served at `now`, or None when absent or expired."""
        record = self.read(view, [entity])[0]
        return record if record is not None and record.alive(now) else None

    def snapshot(self, view: str, now: datetime) -> dict[str, Record]:
        """Every entity served at `now` with its record (for tests and comparisons)."""
        return {e: r for e, r in self.scan(view) if r.alive(now)}
