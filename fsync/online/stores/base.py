"""The online store interface. Both implementations (Redis, SQLite) pass one shared contract test suite.

A record is one entity of one view version: its encoded feature values, and one bookkeeping field `__m` that
packs the matched feature_ts, the instant after which the record is no longer served (feature_ts + ttl,
inclusive) and the push generation that wrote it, as `<feature_ts_us>:<expires_at_us>:<generation>`
(microseconds since the epoch, UTC). Reads fetch only the requested features plus `__m`, in one round trip.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fsync.errors import InfraUnavailable
from fsync.online.encoding import decode_value
from fsync.timeutil import from_us, to_us

META = "__m"  # the one bookkeeping field of a stored record
LOG_MAX_ENTRIES = 1_000_000  # default bound of the served-value log (oldest entries dropped beyond it)
LAYOUT = 2  # recorded in every watermark: a store written with another layout gets a full push


def pack_meta(feature_ts_us: int, expires_at_us: int, generation: int) -> str:
    return f"{feature_ts_us}:{expires_at_us}:{generation}"


def unpack_meta(text: str) -> tuple[int, int, int]:
    try:
        ts, expires, generation = text.split(":")
        return int(ts), int(expires), int(generation)
    except (ValueError, AttributeError):
        raise tampered(f"{META}={str(text)[:40]!r}") from None


def tampered(what: str) -> InfraUnavailable:
    return InfraUnavailable(
        f"a stored record is not in fsync's layout ({what}): the online store was modified outside fsync;"
        " push that view with --full-refresh."
    )


def servable(feature_ts_us: int, expires_at_us: int, now_us: int) -> bool:
    """The one serving rule: a stored row is served from its feature_ts to feature_ts + ttl, both inclusive
    (the store keeps only the latest row, so before its feature_ts nothing of the entity is servable)."""
    return feature_ts_us <= now_us <= expires_at_us


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
    packed_meta: list[str] | None = None  # `__m` of each entity, when the warehouse computed it already

    def split(self) -> tuple[Batch, Batch]:
        """Two halves of the batch (for a store that limits the size of one write)."""
        h = len(self.entities) // 2

        def part(sl: slice) -> Batch:
            return Batch(
                self.names,
                self.entities[sl],
                self.feature_ts_us[sl],
                self.expires_at_us[sl],
                [c[sl] for c in self.columns],
                self.generation,
                self.same_fields,
                self.packed_meta[sl] if self.packed_meta is not None else None,
            )

        return part(slice(0, h)), part(slice(h, None))

    def meta(self) -> list[str]:
        if self.packed_meta is not None:
            return self.packed_meta
        g = self.generation
        return [f"{ts}:{exp}:{g}" for ts, exp in zip(self.feature_ts_us, self.expires_at_us, strict=True)]


@dataclass(frozen=True)
class Lease:
    """The right to push one view into one store, held by one push until `expires_at` (wall clock, epoch
    seconds) unless renewed. `token` is unique per push; `holder` says who it is (pid, host, start time)."""

    view: str
    token: str
    holder: dict[str, Any]
    expires_at: float


class LeaseLost(InfraUnavailable):
    """A write was refused because this push no longer holds the view's lease (it expired while the push
    stalled, another push took it over, or the store lost it in a restart)."""


@dataclass(frozen=True)
class Record:
    """One stored entity of a view, decoded: the features read (all, or the requested ones)."""

    feature_ts: datetime
    expires_at_us: int
    generation: int
    values: dict[str, Any]

    def alive(self, now: datetime) -> bool:
        """Served at `now` (fsync.online.stores.base.servable)."""
        return servable(to_us(self.feature_ts), self.expires_at_us, to_us(now))


def parse_watermark(view: str, text: str | bytes | None, where: str) -> dict[str, Any] | None:
    """A stored watermark; one that is not fsync's JSON object is a store modified outside fsync."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict) or not isinstance(value.get("as_of"), str):
        raise InfraUnavailable(
            f"the watermark of {view} in {where} is not fsync's (modified outside fsync?); delete it"
            " and push with --full-refresh."
        )
    return value


def decode_record(meta: str | None, fields: dict[str, str | None]) -> Record | None:
    """A record from its stored `__m` and encoded fields; None when the entity is absent (no `__m`)."""
    if meta is None:
        return None
    ts, expires, generation = unpack_meta(meta)
    try:
        values = {k: decode_value(v) for k, v in fields.items() if v is not None}
        return Record(from_us(ts), expires, generation, values)
    except (ValueError, OverflowError, ArithmeticError):
        raise tampered(f"{META}={meta[:40]!r}") from None


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

    # -- leases: pushes of one view into one store are mutually exclusive -------------------------------
    # Every write, delete and watermark of a view made through a store that holds the view's lease is
    # fenced: it is applied only while the lease is still this push's, atomically with the check, so a push
    # whose lease expired or was taken over can never overwrite or delete what the new holder wrote.

    @abstractmethod
    def acquire_lease(self, view: str, token: str, holder: dict[str, Any], ttl_s: float) -> Lease | None:
        """Take the view's lease for `ttl_s` seconds if it is free, expired, or held by `token`; return the
        current holder's lease otherwise (nothing taken). From then on this store fences the view."""

    @abstractmethod
    def renew_lease(self, view: str, token: str, ttl_s: float) -> bool:
        """Extend the lease if `token` still holds it (thread-safe: called by the push's heartbeat)."""

    @abstractmethod
    def release_lease(self, view: str, token: str) -> None:
        """Give the lease up if `token` holds it; stop fencing the view."""

    @abstractmethod
    def take_over_lease(
        self, view: str, stale: Lease, token: str, holder: dict[str, Any], ttl_s: float
    ) -> bool:
        """Replace `stale` (a holder known to be dead) by this push's lease, only if it is still `stale`."""

    @abstractmethod
    def next_generation(self, view: str, at_least: int) -> int:
        """A generation number never handed out before for this view (and greater than `at_least`): every
        full push, retries included, writes with its own generation."""

    @abstractmethod
    def current_generation(self, view: str) -> int:
        """The last generation handed out for the view (0: none): greater than the watermark's when a full
        push started after the last complete push and did not finish."""

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

    def eviction_risk(self) -> str | None:
        """Why the store may drop feature keys on its own before they expire (None: it never does)."""
        return None

    def evicted_keys(self) -> int:
        """A counter of keys the store evicted so far (compared before and after a push)."""
        return 0

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
        """The record of an entity served at `now`, or None when absent, expired, or not valid yet (the store
        keeps only the latest row: one whose feature_ts is after `now` was not servable then)."""
        record = self.read(view, [entity])[0]
        return record if record is not None and record.alive(now) else None

    def snapshot(self, view: str, now: datetime) -> dict[str, Record]:
        """Every entity served at `now` with its record (for tests and comparisons)."""
        return {e: r for e, r in self.scan(view) if r.alive(now)}
