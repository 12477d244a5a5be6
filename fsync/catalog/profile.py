"""Live profile figures of each feature view, read-only from the warehouse: row count, NULL % per column,
latest timestamp. An unreachable or locked warehouse is a message on the page, never a failed catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fsync.errors import FsyncError
from fsync.manifest import FeatureViewSpec
from fsync.warehouse import PostgresReader, Reader, Warehouse, open_reader, quote


@dataclass(frozen=True)
class Profile:
    row_count: int
    latest_ts: datetime | None
    null_pct: dict[str, float]  # column -> percentage of NULL values (0 when the view is empty)
    latest_at_as_of: datetime | None = None  # the newest timestamp <= the as-of (what freshness counts)


@dataclass
class Profiles:
    source: str  # what was read, e.g. "duckdb file /x/fstore.duckdb"
    unavailable: str | None = None  # why nothing could be read
    by_view: dict[str, Profile] = field(default_factory=dict)  # unique_id -> profile
    errors: dict[str, str] = field(default_factory=dict)  # unique_id -> why this view could not be read


def _db_errors() -> tuple[type[BaseException], ...]:
    import duckdb
    import psycopg2

    return (duckdb.Error, psycopg2.Error)


def _naive(value: Any) -> datetime | None:
    ts = value if isinstance(value, datetime) else None
    if ts is not None and ts.tzinfo is not None:  # timestamptz: its UTC instant, naive
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


def profile_view(reader: Reader, view: FeatureViewSpec, as_of: datetime | None = None) -> Profile:
    names = [c.name for c in view.columns]
    actual = reader.columns(view.schema, view.alias)
    if not actual:
        raise FsyncError(f"relation {view.schema}.{view.alias} not found in the warehouse")
    names = [n for n in names if n in actual] or list(actual)
    ts = quote(view.timestamp) if view.timestamp in actual else "null"
    counts = ", ".join(f"count({quote(n)})" for n in names)
    # Rows after the as-of were not known then: they do not make the view fresh.
    at_as_of = f"max(case when {ts} <= {reader.param} then {ts} end)" if as_of is not None else "null"
    sql = f"select count(*), max({ts}), {at_as_of}, {counts} from {quote(view.schema)}.{quote(view.alias)}"
    row = reader.one(sql, [as_of] if as_of is not None else [])
    assert row is not None  # an aggregate always returns one row
    total = int(row[0])
    nulls = {
        n: (100.0 * (total - int(c)) / total if total else 0.0) for n, c in zip(names, row[3:], strict=True)
    }
    return Profile(total, _naive(row[1]), nulls, _naive(row[2]))


def collect_profiles(
    warehouse: Warehouse | FsyncError, views: list[FeatureViewSpec], as_of: datetime | None = None
) -> Profiles:
    """Profiles of the views; `warehouse` is the one to read, or why it could not be resolved."""
    if isinstance(warehouse, FsyncError):
        return Profiles(source="the warehouse", unavailable=str(warehouse))
    result = Profiles(source=warehouse.describe())
    try:
        reader = open_reader(warehouse)
    except FsyncError as exc:  # missing file, locked file, server down
        result.unavailable = str(exc)
        return result
    errors = _db_errors()
    try:
        for view in views:
            try:
                result.by_view[view.unique_id] = profile_view(reader, view, as_of)
            except FsyncError as exc:
                result.errors[view.unique_id] = str(exc)
            except errors as exc:
                result.errors[view.unique_id] = str(exc).strip().splitlines()[0]
                if isinstance(reader, PostgresReader):  # leave the failed transaction
                    reader.con.rollback()
    finally:
        reader.close()
    return result
