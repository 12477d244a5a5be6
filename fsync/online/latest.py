"""The SQL that finds each entity's latest row of a feature view at an instant.

The latest row of an entity at `as_of` is the same row the point-in-time join picks at label_ts = as_of
(docs/semantics.md section 5): greatest feature_ts <= as_of, then greatest created_ts (NULL lowest); it is
served only while feature_ts >= as_of - ttl.

One scan finds it: the greatest feature_ts per entity (a hash aggregate), joined back to the rows at that
instant: the *candidates*, one row per entity unless rows tie on feature_ts. The reader stages them once
(DuckDB: a temporary table; PostgreSQL: a CTE), and every check (ambiguous latest rows, counts, the greatest
created_ts) and the stream of rows to write read the small staged set instead of the whole view. A window
over the whole view costs several times more (a sort of every row, with its features).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fsync.manifest import FeatureViewSpec
from fsync.timeutil import MAX_US, MIN_US
from fsync.warehouse import quote

SQL = tuple[str, list[Any]]


@dataclass(frozen=True)
class Window:
    """Rows a push reads: visible at `as_of`, alive since `alive_from`; incremental when `since_ts` set."""

    as_of: datetime
    alive_from: datetime
    since_ts: datetime | None = None
    since_created: datetime | None = None


@dataclass(frozen=True)
class Bookkeeping:
    """The warehouse computes each record's bookkeeping as it reads: feature_ts and expires_at (µs since
    the epoch, an expiry past the end of the calendar clamped there) and the packed `__m` text
    (fsync/online/stores/base.py, `pack_meta`)."""

    epoch_us: Callable[[str], str]  # the reader's SQL for a timestamp's µs since the epoch
    ttl_us: int
    generation: int

    def columns(self, ts: str) -> list[str]:
        ttl = min(self.ttl_us, MAX_US - MIN_US)  # so that MAX_US - ttl fits a bigint
        epoch = self.epoch_us(ts)
        expires = f"case when {epoch} > {MAX_US - ttl} then {MAX_US} else {epoch} + {ttl} end"
        meta = f"cast({epoch} as varchar) || ':' || cast({expires} as varchar) || ':{self.generation}'"
        return [f"{epoch} as _fsync_ts_us", f"{expires} as _fsync_expires_us", f"{meta} as _fsync_meta"]


class LatestRowsQuery:
    """SQL for one view; `p` is the reader's placeholder (`?` or `%s`)."""

    def __init__(
        self,
        view: FeatureViewSpec,
        feature_columns: list[str],
        p: str,
        utc_columns: frozenset[str] = frozenset(),
        encoders: dict[str, str] | None = None,
    ) -> None:
        """`utc_columns`: the (lower-cased) names of timestamptz columns, read as their naive UTC
        instant (`at time zone 'UTC'`, the same on DuckDB and PostgreSQL): fsync sees naive UTC only.
        `encoders`: feature column -> SQL template (`{c}` the column) that latest_rows returns instead."""
        self.view, self.p = view, p
        self.rel = f"{quote(view.schema)}.{quote(view.alias)}"
        self.keys = [quote(k) for k in view.entity_keys]
        self.ts = quote(view.timestamp)
        self.created = quote(view.created_timestamp) if view.created_timestamp else None
        self.features = [quote(c) for c in feature_columns]
        self._encoded = [
            (encoders or {}).get(c, "{c}").format(c=quote(c)) + f" as {quote(c)}" for c in feature_columns
        ]
        self._utc = {
            quote(c)
            for c in (*view.entity_keys, view.timestamp, *feature_columns, view.created_timestamp or "")
            if c.lower() in utc_columns
        }
        self.system = self.keys + [self.ts] + ([self.created] if self.created else [])
        # Candidates share the entity's greatest feature_ts: created_ts breaks the tie (NULL lowest); without
        # one, every candidate is a peer (rank 1), so two of them are an ambiguous latest row.
        tie = f" order by {self.created} desc nulls last" if self.created else ""
        self.over = f"over (partition by {', '.join(self.keys)}{tie})"

    def _project(self, column: str, table: str) -> str:
        if column in self._utc:
            return f"({table}.{column} at time zone 'UTC') as {column}"
        return f"{table}.{column}"

    def candidates(self, w: Window) -> SQL:
        """Every row at its entity's greatest feature_ts <= as_of (incremental: of the entities with a row
        new or corrected since the watermark, a superset of those whose latest row changed), with the
        entity's greatest created_ts in `_fsync_created_max`. Expired entities are kept (their checks
        count); the alive filter comes after."""
        p = self.p
        where = f"{self.ts} is not null and {self.ts} <= {p}"
        params: list[Any] = [w.as_of]
        if w.since_ts is not None:
            changed = f"{self.ts} > {p}"
            changed_params: list[Any] = [w.as_of, w.since_ts]
            if self.created and w.since_created is not None:
                changed = f"({changed} or {self.created} > {p})"
                changed_params.append(w.since_created)
            key_tuple = self.keys[0] if len(self.keys) == 1 else f"({', '.join(self.keys)})"
            where += (
                f" and {key_tuple} in (select {', '.join(self.keys)} from {self.rel}"
                f" where {self.ts} <= {p} and {changed})"
            )
            params += changed_params
        keys = ", ".join(self.keys)
        created_max = f", max({self.created}) as _fsync_created_max" if self.created else ""
        latest = (
            f"select {keys}, max({self.ts}) as _fsync_ts{created_max} from {self.rel} where {where}"
            f" group by {keys}"
        )
        on = " and ".join(f"_r.{k} = _m.{k}" for k in self.keys) + f" and _r.{self.ts} = _m._fsync_ts"
        columns = ", ".join(self._project(c, "_r") for c in self.system + self.features)
        if not self.created:
            created_out = ", cast(null as timestamp) as _fsync_created_max"
        elif self.created in self._utc:
            created_out = ", (_m._fsync_created_max at time zone 'UTC') as _fsync_created_max"
        else:
            created_out = ", _m._fsync_created_max"
        sql = f"select {columns}{created_out} from {self.rel} as _r join ({latest}) as _m on {on}"
        return sql, params

    def _ranked(self, staged: SQL, extra: str = "") -> str:
        ranked = f"select *, row_number() {self.over} as _rn{extra} from _s"
        return f"with _s as ({staged[0]}) select * from ({ranked}) as _q"

    def checks(self, staged: SQL, w: Window) -> SQL:
        """One row: entities to push (alive), entities with an ambiguous latest row, greatest created_ts,
        greatest feature_ts of the candidates (alive or not: the push's freshness warnings)."""
        sql = self._ranked(staged, f", rank() {self.over} as _rk")
        sql = (
            f"select count(*) filter (where _rn = 1 and {self.ts} >= {self.p}),"
            f" count(*) filter (where _rk = 1) - count(*) filter (where _rn = 1), max(_fsync_created_max),"
            f" max({self.ts}) from ({sql}) as _c"
        )
        # the staged SQL's parameters come first in the text (inside the CTE)
        return sql, [*staged[1], w.alive_from]

    def duplicate_example(self, staged: SQL) -> SQL:
        cols = ", ".join(self.system)
        sql = (
            f"select {cols} from ({self._ranked(staged, f', rank() {self.over} as _rk')}) as _c"
            f" where _rk = 1 group by {cols} having count(*) > 1 limit 1"
        )
        return sql, list(staged[1])

    def null_key_example(self) -> SQL:
        cond = " or ".join(f"{k} is null" for k in self.keys)
        projection = ", ".join(self._project(c, self.rel) for c in self.keys + [self.ts])
        return f"select {projection} from {self.rel} where {cond} limit 1", []

    def latest_rows(self, staged: SQL, w: Window, bookkeeping: Bookkeeping) -> SQL:
        """keys..., feature_ts µs, expires_at µs, `__m`, features... of each entity's latest row alive at
        as_of (after the checks passed)."""
        out = ", ".join(self.keys + bookkeeping.columns(self.ts) + self._encoded)
        if self.created:
            sql = f"select {out} from ({self._ranked(staged)}) as _c where _rn = 1 and {self.ts} >= {self.p}"
        else:  # the duplicate check passed: one candidate per entity
            sql = f"with _s as ({staged[0]}) select {out} from _s where {self.ts} >= {self.p}"
        return sql, [*staged[1], w.alive_from]
