"""The served-value log: what each online read served, appended by the store in the read's own round trip.

An entry is one request: a header (msgpack, built here) and the raw rows the store returned for it (the
stored text of each requested field, then `__m`, per view and entity). Decoding an entry gives one row per
(entity, view): request id, served_at, service, view, version, entity key, the feature values, feature_ts and
the status, computed exactly as the read computed them (`status()` is the one rule).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgpack

from fsync.online.encoding import decode_value
from fsync.online.stores.base import LogEntry, RawRow, servable, unpack_meta
from fsync.timeutil import from_us

FORMAT = 1

# Statuses of an (entity, view) read.
PRESENT, NULL, MISSING, EXPIRED = "present", "null", "missing", "expired"


def status(meta: str | None, values: Sequence[Any], now_us: int) -> tuple[str, int | None]:
    """The status of an (entity, view) at `now_us`, and its feature_ts in µs (None when never pushed):
    `missing` (no record), `expired` (now past feature_ts + ttl), `null` (served, and every requested value
    is NULL: the row exists and says "no value"), `present` (served, with at least one value)."""
    state, ts = served_state(meta, now_us)
    if state == PRESENT and values and all(v is None for v in values):
        return NULL, ts
    return state, ts


def served_state(meta: str | None, now_us: int) -> tuple[str, int | None]:
    """`status` before looking at the values: missing (never pushed, or its row is not valid yet at `now`),
    expired, or present (null when they are all NULL) - by the store's one rule, `servable`."""
    if meta is None:
        return MISSING, None
    ts, expires, _ = unpack_meta(meta)
    if servable(ts, expires, now_us):
        return PRESENT, ts
    return (MISSING, ts) if now_us < ts else (EXPIRED, ts)


@dataclass(frozen=True)
class LoggedView:
    """A view of a logged request: its name, version, store id and the features read."""

    name: str
    version: int | None
    store_id: str
    fields: tuple[str, ...]


def pack_views(service: str | None, views: Sequence[LoggedView]) -> bytes:
    """The part of a log header that is the same for every read of a service (packed once per plan)."""
    return msgpack.packb(
        {
            "format": FORMAT,
            "service": service,
            "views": [[v.name, v.version, v.store_id, list(v.fields)] for v in views],
        }
    )


def pack_header(
    views: bytes, request_id: str, served_at_us: int, now_us: int, entities: Sequence[Sequence[str]]
) -> bytes:
    """The header of a log entry: the packed views (pack_views), then the request and the entity keys read
    of each view (two msgpack objects, one after the other)."""
    return views + msgpack.packb([request_id, served_at_us, now_us, entities])


def unpack_header(header: bytes) -> dict[str, Any]:
    unpacker = msgpack.Unpacker()
    unpacker.feed(header)
    views = next(unpacker)
    request_id, served_at_us, now_us, entities = next(unpacker)
    return {
        **views,
        "request_id": request_id,
        "served_at_us": served_at_us,
        "now_us": now_us,
        "entities": entities,
    }


@dataclass(frozen=True)
class ServedRow:
    """One (entity, view) of a logged request, decoded."""

    log_id: str
    request_id: str
    served_at: datetime
    now: datetime
    service: str | None
    view: str
    version: int | None
    entity_key: str
    values: dict[str, Any]  # the typed values served (expired: none)
    feature_ts: datetime | None
    status: str


def decode_entry(entry: LogEntry) -> Iterator[ServedRow]:
    header = unpack_header(entry.header)
    rows: list[list[RawRow]] = msgpack.unpackb(entry.rows)
    now_us = int(header["now_us"])
    served_at, now = from_us(int(header["served_at_us"])), from_us(now_us)
    for (name, version, _, fields), keys, view_rows in zip(
        header["views"], header["entities"], rows, strict=True
    ):
        for key, row in zip(keys, view_rows, strict=True):
            raw = [None if v is False or v is None else v for v in row]  # Lua's nil arrives as false
            meta = raw[-1]
            values = [None if v is None else decode_value(v) for v in raw[:-1]]
            state, ts = status(meta, values, now_us)
            served = dict(zip(fields, values, strict=True)) if state in (PRESENT, NULL) else {}
            yield ServedRow(
                entry.id,
                header["request_id"],
                served_at,
                now,
                header["service"],
                name,
                version,
                key,
                served,
                None if ts is None else from_us(ts),
                state,
            )
