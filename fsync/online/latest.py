"""The SQL that finds each entity's latest row of a feature view at an instant.

The latest row of an entity at `as_of` is the same row the point-in-time join picks at label_ts = as_of
(docs/semantics.md section 5): greatest feature_ts <= as_of, then greatest created_ts (NULL lowest); it is
served only while feature_ts >= as_of - ttl.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fsync.manifest import FeatureViewSpec
from fsync.warehouse import quote


@dataclass(frozen=True)
class Window:
    """Rows a push reads: visible at `as_of`, alive since `alive_from`; incremental when `since_ts` set."""

    as_of: datetime
    alive_from: datetime
    since_ts: datetime | None = None
    since_created: datetime | None = None


class LatestRowsQuery:
    """SQL for one view; `p` is the reader's placeholder (`?` or `%s`)."""

    def __init__(
        self,
        view: FeatureViewSpec,
        feature_columns: list[str],
        p: str,
        utc_columns: frozenset[str] = frozenset(),
    ) -> None:
        """`utc_columns`: the (lower-cased) names of timestamptz columns, read as their naive UTC
        instant (`at time zone 'UTC'`, the same on DuckDB and PostgreSQL): fsync sees naive UTC only."""
        self.view, self.p = view, p
        self.rel = f"{quote(view.schema)}.{quote(view.alias)}"
        self.keys = [quote(k) for k in view.entity_keys]
        self.ts = quote(view.timestamp)
        self.created = quote(view.created_timestamp) if view.created_timestamp else None
        self.features = [quote(c) for c in feature_columns]
        self._utc = {
            quote(c)
            for c in (*view.entity_keys, view.timestamp, *feature_columns, view.created_timestamp or "")
            if c.lower() in utc_columns
        }
        order = f"{self.ts} desc" + (f", {self.created} desc nulls last" if self.created else "")
        self.over = f"over (partition by {', '.join(self.keys)} order by {order})"

    def _project(self, column: str) -> str:
        return f"({column} at time zone 'UTC') as {column}" if column in self._utc else column

    def _base(self, w: Window, columns: list[str]) -> tuple[str, list[Any]]:
        p = self.p
        projection = ", ".join(self._project(c) for c in columns)
        sql = f"select {projection} from {self.rel} where {self.ts} is not null and {self.ts} <= {p}"
        params: list[Any] = [w.as_of]
        if w.since_ts is not None:
            # Incremental: only entities with a row that is new or corrected since the watermark (a superset
            # of
            # the entities whose latest row changed; rewriting an unchanged entity is harmless).
            changed = f"{self.ts} > {p}"
            params2: list[Any] = [w.as_of, w.since_ts]
            if self.created and w.since_created is not None:
                changed = f"({changed} or {self.created} > {p})"
                params2.append(w.since_created)
            key_tuple = self.keys[0] if len(self.keys) == 1 else f"({', '.join(self.keys)})"
            sql += (
                f" and {key_tuple} in (select {', '.join(self.keys)} from {self.rel}"
                f" where {self.ts} <= {p} and {changed})"
            )
            params += params2
        return sql, params

    def preflight(self, w: Window) -> tuple[str, list[Any]]:
        """One row: rows to push, entities with an ambiguous latest row, max created_ts, NULL-key rows."""
        cols = self.keys + [self.ts] + ([self.created] if self.created else [])
        base, params = self._base(w, cols)
        created_max = f"max({self.created})" if self.created else "cast(null as timestamp)"
        null_keys = " or ".join(f"{k} is null" for k in self.keys)
        sql = (
            f"select count(*) filter (where _rn = 1 and {self.ts} >= {self.p}),"
            f" count(*) filter (where _rk = 1) - count(*) filter (where _rn = 1), {created_max},"
            f" (select count(*) from {self.rel} where {null_keys})"
            f" from (select *, row_number() {self.over} as _rn, rank() {self.over} as _rk"
            f" from ({base}) as _b) as _r"
        )
        return sql, [w.alive_from] + params

    def duplicate_example(self, w: Window) -> tuple[str, list[Any]]:
        cols = self.keys + [self.ts] + ([self.created] if self.created else [])
        base, params = self._base(w, cols)
        sql = (
            f"select {', '.join(cols)} from (select *, rank() {self.over} as _rk from ({base}) as _b) as _r"
            f" where _rk = 1 group by {', '.join(cols)} having count(*) > 1 limit 1"
        )
        return sql, params

    def null_key_example(self) -> tuple[str, list[Any]]:
        cond = " or ".join(f"{k} is null" for k in self.keys)
        projection = ", ".join(self._project(c) for c in self.keys + [self.ts])
        return f"select {projection} from {self.rel} where {cond} limit 1", []

    def latest_rows(self, w: Window) -> tuple[str, list[Any]]:
        """keys..., ts, features... of each entity's latest row alive at as_of."""
        cols = self.keys + [self.ts] + ([self.created] if self.created else []) + self.features
        base, params = self._base(w, cols)
        out = self.keys + [self.ts] + self.features
        sql = (
            f"select {', '.join(out)} from (select *, row_number() {self.over} as _rn"
            f" from ({base}) as _b) as _r"
            f" where _rn = 1 and {self.ts} >= {self.p}"
        )
        return sql, params + [w.alive_from]
