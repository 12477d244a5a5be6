"""Brute-force reference implementation of docs/semantics.md, written from the document alone.

Rows are plain dicts; timestamps are naive `datetime` (UTC wall clock), decimals are `Decimal`.
Nothing here is clever: every window and every as-of match is found by scanning the candidate rows,
so that a disagreement with the SQL macros points at the macros (or at this file) without ambiguity.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

Row = Mapping[str, Any]

_DURATION = re.compile(r"^([0-9]+)([dhms])$")
_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `45s` -> exact timedelta (section 1)."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"invalid duration {text!r}: expected <integer><d|h|m|s>")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


@dataclass(frozen=True)
class Aggregation:
    name: str
    agg: str
    column: str | None
    windows: tuple[str, ...]


def aggregate(agg: str, column: str | None, rows: Sequence[Row]) -> Any:
    """One aggregation over the rows of one window (section 3, 'Aggregations and NULLs')."""
    if agg == "count_rows":
        return len(rows)
    if column is None:
        raise ValueError(f"aggregation {agg} needs a column")
    values = [r[column] for r in rows if r[column] is not None]
    if agg == "count":
        return len(values)
    if agg == "sum":
        return sum(values) if values else 0  # empty sum is 0 whatever the column type
    if agg == "avg":
        if not values:
            return None
        if all(isinstance(v, Decimal) for v in values):
            return float(sum(values, start=Decimal(0)) / len(values))
        return sum(float(v) for v in values) / len(values)
    if agg == "min":
        return min(values) if values else None
    if agg == "max":
        return max(values) if values else None
    if agg == "count_distinct":
        return len(set(values))
    raise ValueError(f"unknown aggregation {agg!r}")


def _key(row: Row, columns: Sequence[str]) -> tuple[Any, ...] | None:
    key = tuple(row[c] for c in columns)
    return None if any(v is None for v in key) else key


def _in_window(event_ts: datetime | None, t: datetime | None, width: timedelta) -> bool:
    """A NULL spine time has an empty window."""
    return event_ts is not None and t is not None and t - width <= event_ts < t


def _window_values(
    spine_row: Row, events: Sequence[Row], aggregations: Sequence[Aggregation], spine_ts: str, event_ts: str
) -> dict[str, Any]:
    t = spine_row[spine_ts]
    in_window = {
        w: [e for e in events if _in_window(e[event_ts], t, parse_duration(w))]
        for w in {w for a in aggregations for w in a.windows}
    }
    return {
        f"{a.name}_{w}": aggregate(a.agg, a.column, in_window[w]) for a in aggregations for w in a.windows
    }


def rolling_agg(
    spine: Sequence[Row],
    events: Iterable[Row],
    entity_keys: Sequence[str],
    aggregations: Sequence[Aggregation],
    spine_timestamp: str = "feature_ts",
    event_timestamp: str = "event_ts",
    spine_columns: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """One output row per spine row, over the (already final) events with t - W <= event_ts < t."""
    by_entity: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for e in events:
        key = _key(e, entity_keys)
        if key is not None and e[event_timestamp] is not None:
            by_entity[key].append(e)
    out = []
    for s in spine:
        key = _key(s, entity_keys)
        candidates = by_entity.get(key, []) if key is not None else []
        row = {c: s[c] for c in (*entity_keys, spine_timestamp, *spine_columns)}
        row.update(_window_values(s, candidates, aggregations, spine_timestamp, event_timestamp))
        out.append(row)
    return out


def dedup_final(versions: Iterable[Row], key_columns: Sequence[str], ingested_at: str) -> list[Row]:
    """Section 2: exact duplicates collapse; the latest ingested_at wins, NULL losing to any known one."""
    by_key: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for v in versions:
        by_key[tuple(v[c] for c in key_columns)].append(v)
    final = []
    for rows in by_key.values():
        known = [r for r in rows if r[ingested_at] is not None]
        pool = known or rows
        best = max(pool, key=lambda r: r[ingested_at]) if known else pool[0]
        winners = {tuple(sorted(r.items())) for r in pool if r[ingested_at] == best[ingested_at]}
        if len(winners) != 1:
            raise ValueError(f"key {rows[0]!r}: different versions share ingested_at {best[ingested_at]}")
        final.append(best)
    return final


def known_at(
    versions_of_key: Sequence[Row], t: datetime, ingested_at: str
) -> Row | None:
    """The version of one key known at t: the latest with ingested_at <= t (NULL ingested_at never known)."""
    known = [v for v in versions_of_key if v[ingested_at] is not None and v[ingested_at] <= t]
    if not known:
        return None
    latest = max(v[ingested_at] for v in known)
    winners = {tuple(sorted(v.items())) for v in known if v[ingested_at] == latest}
    if len(winners) != 1:
        raise ValueError(f"different versions of {versions_of_key[0]!r} share ingested_at {latest}")
    return next(v for v in known if v[ingested_at] == latest)


def rolling_agg_as_known_at(
    spine: Sequence[Row],
    versions: Iterable[Row],
    entity_keys: Sequence[str],
    aggregations: Sequence[Aggregation],
    dedup_key: Sequence[str],
    ingested_at: str = "ingested_at",
    spine_timestamp: str = "feature_ts",
    event_timestamp: str = "event_ts",
    spine_columns: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Section 3 'Late data': per spine row, dedup the versions known at t, then apply the window.

    The entity of a key is the entity of the version that wins at t, so a key is a candidate for every
    entity any of its versions ever had.
    """
    by_dedup_key: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for v in versions:
        by_dedup_key[tuple(v[c] for c in dedup_key)].append(v)
    keys_by_entity: dict[tuple[Any, ...], set[tuple[Any, ...]]] = defaultdict(set)
    for k, rows in by_dedup_key.items():
        for r in rows:
            entity = _key(r, entity_keys)
            if entity is not None:
                keys_by_entity[entity].add(k)
    out = []
    for s in spine:
        entity = _key(s, entity_keys)
        t = s[spine_timestamp]
        current = []
        for k in keys_by_entity.get(entity, ()) if entity is not None else ():
            v = known_at(by_dedup_key[k], t, ingested_at)
            if v is not None and _key(v, entity_keys) == entity:
                current.append(v)
        row = {c: s[c] for c in (*entity_keys, spine_timestamp, *spine_columns)}
        row.update(_window_values(s, current, aggregations, spine_timestamp, event_timestamp))
        out.append(row)
    return out


@dataclass(frozen=True)
class FeatureView:
    rows: Sequence[Row]
    columns: Mapping[str, str]  # source column -> output name (before prefix)
    prefix: str = ""
    ttl: str | None = None
    timestamp: str = "feature_ts"
    created_timestamp: str | None = None


def _newer(a: Row, b: Row, view: FeatureView) -> bool:
    """True if a wins over b: greater feature_ts, then greater created_ts with NULL lowest."""
    if a[view.timestamp] != b[view.timestamp]:
        return a[view.timestamp] > b[view.timestamp]
    if view.created_timestamp is None:
        return False
    ca, cb = a[view.created_timestamp], b[view.created_timestamp]
    if ca is None:
        return False
    return cb is None or ca > cb


def point_in_time_join(
    labels: Sequence[Row],
    entity_keys: Sequence[str],
    views: Sequence[FeatureView],
    label_timestamp: str = "label_ts",
) -> list[dict[str, Any]]:
    """Section 4: every label row in order, with each view's row as of label_ts (None when unmatched)."""
    indexed = []
    for view in views:
        by_entity: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
        for r in view.rows:
            key = _key(r, entity_keys)
            if key is not None and r[view.timestamp] is not None:
                by_entity[key].append(r)
        indexed.append(by_entity)
    out = []
    for label in labels:
        row = dict(label)
        key = _key(label, entity_keys)
        ts = label[label_timestamp]
        for view, by_entity in zip(views, indexed, strict=True):
            best: Row | None = None
            if key is not None and ts is not None:
                lower = ts - parse_duration(view.ttl) if view.ttl else None
                for r in by_entity.get(key, ()):
                    fts = r[view.timestamp]
                    in_range = fts <= ts and (lower is None or fts >= lower)
                    if in_range and (best is None or _newer(r, best, view)):
                        best = r
            row[f"{view.prefix}{view.timestamp}"] = best[view.timestamp] if best else None
            for source, alias in view.columns.items():
                row[f"{view.prefix}{alias}"] = best[source] if best else None
        out.append(row)
    return out
