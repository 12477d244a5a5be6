"""The freshness rule, once: how old the newest feature_ts of a view may get (its `freshness_sla`).

At an instant `as_of`, a view's age is `as_of - newest feature_ts <= as_of` (a row after `as_of` does not make
the view fresh: it was not known yet). Status: `breach` when the age exceeds the SLA (or there is no row at
all), `warn` from 80 % of the SLA, `ok` below. `fsync push` warns with it, `fsync freshness`
(fsync.monitoring.freshness) reports it for the warehouse and the online store, and the dbt test
`fstore.freshness_within_sla` applies the same thresholds in SQL.
"""

from __future__ import annotations

from datetime import datetime

from fsync.manifest import FeatureViewSpec
from fsync.timeutil import format_duration, format_instant

OK, WARN, BREACH = "ok", "warn", "breach"
WARN_FRACTION = 0.8  # warn from this fraction of the SLA on (dbt source freshness' warn_after)
SEVERITY = {OK: 0, WARN: 1, BREACH: 2}


def age_seconds(newest: datetime | None, as_of: datetime) -> float | None:
    """Seconds from the newest feature_ts to `as_of` (None: no row at or before `as_of`)."""
    return None if newest is None else (as_of - newest).total_seconds()


def freshness_status(age: float | None, sla_seconds: int) -> str:
    """ok / warn (age >= 80 % of the SLA) / breach (age > SLA, or no row at all)."""
    if age is None or age > sla_seconds:
        return BREACH
    return WARN if age >= WARN_FRACTION * sla_seconds else OK


def push_warnings(
    view: FeatureViewSpec, as_of: datetime, newest: datetime | None, written: int, full: bool
) -> list[str]:
    """What a push says about the freshness of what it published: 0 entities because every row is expired
    (or, for a full push, there is none) at the push time, or a view already in breach of its SLA. `newest`
    is the view's greatest feature_ts <= as_of (None: unknown, or no row)."""
    if newest is None:
        if full and written == 0:
            return [
                f"{view.label}: wrote 0 entities: the view has no row with {view.timestamp} <="
                f" {as_of.isoformat()}; build it, or pass --as-of for historical data."
            ]
        return []
    if written == 0 and (as_of - newest).total_seconds() > view.ttl_seconds:
        return [
            f"{view.label}: wrote 0 entities: every row is expired at the push time (newest {view.timestamp}"
            f" {format_instant(newest)} + ttl {view.ttl} < now {format_instant(as_of)});"
            " pass --as-of for historical data."
        ]
    sla = view.freshness_sla_seconds
    age = age_seconds(newest, as_of)
    if sla and freshness_status(age, sla) == BREACH:
        assert age is not None
        return [
            f"{view.label} is in breach of its freshness SLA ({view.freshness_sla}): the newest"
            f" {view.timestamp} {format_instant(newest)} is {format_duration(age)} old at"
            f" {format_instant(as_of)}; rebuild the model upstream (dbt build) and push again."
        ]
    return []
