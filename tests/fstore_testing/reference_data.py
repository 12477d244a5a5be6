"""Seeded random inputs for the reference test, biased toward the edges of docs/semantics.md.

Edges produced on purpose: NULL values / keys / timestamps, duplicate timestamps, exact duplicate rows,
spine times exactly at event times and exactly at event_ts + W (start of the window, inclusive),
versions known exactly at the spine time, keys whose entity or event_ts changes between versions,
NULL ingested_at, feature rows tied on feature_ts broken by created_ts (NULL lowest), labels exactly at
feature_ts + ttl, and duplicate label rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fstore_testing.warehouse import Column

START = datetime(2024, 1, 1)
SPAN = timedelta(days=60)
US = timedelta(microseconds=1)

Rows = list[dict[str, Any]]

COLUMNS: dict[str, list[Column]] = {
    "events": [
        Column("entity_id", "integer"), Column("event_ts", "timestamp"), Column("amount", "numeric(12,2)"),
        Column("score", "float8"), Column("category", "varchar"),
    ],
    "event_versions": [
        Column("order_id", "integer"), Column("line_item_id", "integer"), Column("entity_id", "integer"),
        Column("event_ts", "timestamp"), Column("amount", "numeric(12,2)"),
        Column("ingested_at", "timestamp"),
    ],
    "spine": [Column("spine_id", "integer"), Column("entity_id", "integer"), Column("ts", "timestamp")],
    "grid_spine": [Column("spine_id", "integer"), Column("entity_id", "integer"), Column("ts", "timestamp")],
    "labels": [Column("entity_id", "integer"), Column("label_ts", "timestamp"), Column("label", "integer")],
    "fv_a": [
        Column("entity_id", "integer"), Column("feature_ts", "timestamp"), Column("created_ts", "timestamp"),
        Column("f_int", "integer"), Column("f_dbl", "float8"),
    ],
    "fv_b": [
        Column("entity_id", "integer"), Column("feature_ts", "timestamp"), Column("f_str", "varchar"),
        Column("f_dec", "numeric(10,3)"),
    ],
}


@dataclass
class Sizes:
    entities: int = 300
    events: int = 20_000
    version_keys: int = 3_000
    spine: int = 4_000
    labels: int = 5_000
    fv_a_per_entity: int = 20
    fv_b_per_entity: int = 15


@dataclass
class Dataset:
    tables: dict[str, Rows] = field(default_factory=dict)


class _Gen:
    def __init__(self, seed: int, sizes: Sizes) -> None:
        self.rng = random.Random(seed)
        self.sizes = sizes

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def maybe_null(self, value: Any, p: float = 0.1) -> Any:
        return None if self.chance(p) else value

    def ts(self) -> datetime:
        if self.chance(0.07):  # on the hourly grid of `grid_spine`, or 1us before a grid point
            return self.hour() - self.rng.choice([US * 0, US * 0, US])
        t = START + timedelta(seconds=self.rng.randrange(int(SPAN.total_seconds())))
        return t + timedelta(microseconds=self.rng.randrange(1, 1_000_000)) if self.chance(0.2) else t

    def hour(self) -> datetime:
        return START + timedelta(hours=self.rng.randrange(int(SPAN.total_seconds()) // 3600))

    def entity(self, extra: int = 5) -> int:
        """Mostly known entities, sometimes one that has no data at all."""
        return self.rng.randrange(1, self.sizes.entities + 1 + extra)

    def money(self, scale: int = 2) -> Decimal:
        return Decimal(self.rng.randrange(-50_000, 1_000_000)).scaleb(-scale)

    def events(self) -> Rows:
        rows: Rows = []
        for _ in range(self.sizes.events):
            if rows and self.chance(0.01):
                rows.append(dict(self.rng.choice(rows)))  # exact duplicate row
                continue
            entity = None if self.chance(0.005) else self.rng.randrange(1, self.sizes.entities + 1)
            if rows and self.chance(0.1):
                ts = self.rng.choice(rows)["event_ts"]  # duplicate timestamps (other values)
            else:
                ts = None if self.chance(0.005) else self.ts()
            rows.append({
                "entity_id": entity, "event_ts": ts, "amount": self.maybe_null(self.money()),
                "score": self.maybe_null(self.rng.uniform(0, 100)),
                "category": self.maybe_null(f"c{self.rng.randrange(15)}"),
            })
        return rows

    def versions(self) -> Rows:
        rows: Rows = []
        for k in range(self.sizes.version_keys):
            key = {"order_id": 1000 + k // 3, "line_item_id": k % 3 + 1}
            entity: int | None = self.rng.randrange(1, self.sizes.entities + 1)
            event_ts: datetime | None = self.ts()
            ingested: set[datetime] = set()
            for _ in range(self.rng.randint(1, 4)):
                if self.chance(0.05):
                    entity = self.rng.randrange(1, self.sizes.entities + 1)
                if self.chance(0.3):
                    event_ts = START + timedelta(seconds=self.rng.randrange(int(SPAN.total_seconds())))
                at = (event_ts or START) + timedelta(seconds=self.rng.randrange(-3_600, 3 * 86_400))
                if at in ingested:
                    continue
                ingested.add(at)
                row = {**key, "entity_id": self.maybe_null(entity, 0.01),
                       "event_ts": self.maybe_null(event_ts, 0.01),
                       "amount": self.maybe_null(self.money()), "ingested_at": at}
                rows.append(row)
                if self.chance(0.05):
                    rows.append(dict(row))  # exact duplicate: collapses
            if self.chance(0.05):  # never known; loses to every known version
                rows.append({**key, "entity_id": entity, "event_ts": event_ts, "amount": self.money(),
                             "ingested_at": None})
        self.rng.shuffle(rows)
        return rows

    def spine(self, events: Rows, versions: Rows) -> Rows:
        n = self.sizes.spine
        timed = [e for e in events if e["entity_id"] is not None and e["event_ts"] is not None]
        known = [v for v in versions if v["entity_id"] is not None and v["ingested_at"] is not None]
        dated = [v for v in known if v["event_ts"] is not None]
        widths = [timedelta(hours=1), timedelta(days=1), timedelta(days=7), timedelta(days=30)]
        points: list[tuple[int, datetime]] = []
        points += [(self.entity(), self.ts()) for _ in range(n * 35 // 100)]
        for _ in range(n * 20 // 100):  # exactly at an event: that event is excluded (end exclusive)
            e = self.rng.choice(timed)
            points.append((e["entity_id"], e["event_ts"]))
        for _ in range(n * 20 // 100):  # event exactly at t - W: included (start inclusive), or 1us outside
            e = self.rng.choice(timed)
            shift = self.rng.choice(widths) + self.rng.choice([US * 0, US])
            points.append((e["entity_id"], e["event_ts"] + shift))
        for _ in range(n * 15 // 100):  # version ingested exactly at t (known) or 1us later (unknown)
            v = self.rng.choice(known)
            points.append((v["entity_id"], v["ingested_at"] + self.rng.choice([US * 0, -US])))
        for _ in range(n * 10 // 100):
            v = self.rng.choice(dated)
            points.append((v["entity_id"], v["event_ts"] + self.rng.choice(widths[1:3])))
        rows = [{"spine_id": i, "entity_id": e, "ts": t} for i, (e, t) in enumerate(points)]
        rows += [dict(r) for r in self.rng.sample(rows, n // 100)]  # duplicate spine rows
        self.rng.shuffle(rows)
        return rows

    def grid_spine(self, events: Rows) -> Rows:
        """A spine on the hourly grid (for rolling_agg's tiled formulation, spine_step='1h'), with gaps."""
        n = self.sizes.spine
        on_grid = [e for e in events if e["entity_id"] is not None and e["event_ts"] is not None
                   and e["event_ts"].minute == e["event_ts"].second == e["event_ts"].microsecond == 0]
        just_before = [e for e in events if e["entity_id"] is not None and e["event_ts"] is not None
                       and (e["event_ts"] + US).minute == (e["event_ts"] + US).second == 0
                       and (e["event_ts"] + US).microsecond == 0]
        widths = [timedelta(hours=1), timedelta(days=1), timedelta(days=7), timedelta(days=30)]
        points: list[tuple[int | None, datetime | None]] = []
        points += [(self.entity(), self.hour()) for _ in range(n * 40 // 100)]
        for _ in range(n * 20 // 100):  # an event exactly at t (excluded) or exactly at t - W (included)
            e = self.rng.choice(on_grid)
            points.append((e["entity_id"], e["event_ts"] + self.rng.choice([timedelta(0), *widths])))
        for _ in range(n * 20 // 100):  # an event 1us before t (included) or 1us before t - W (excluded)
            e = self.rng.choice(just_before)
            points.append((e["entity_id"], e["event_ts"] + US + self.rng.choice([timedelta(0), *widths])))
        points += [(None, self.hour()) for _ in range(n // 100)]
        points += [(self.entity(), None) for _ in range(n // 100)]
        rows = [{"spine_id": i, "entity_id": e, "ts": t} for i, (e, t) in enumerate(points)]
        rows += [dict(r) for r in self.rng.sample(rows, n // 100)]  # duplicate spine rows
        self.rng.shuffle(rows)
        return rows

    def feature_view_a(self) -> Rows:
        rows: Rows = []
        for entity in range(1, self.sizes.entities + 1):
            groups: dict[datetime, set[datetime | None]] = {}
            for _ in range(self.rng.randint(1, 2 * self.sizes.fv_a_per_entity)):
                if groups and self.chance(0.25):
                    fts = self.rng.choice(list(groups))  # tie on feature_ts: created_ts decides
                else:
                    fts = START + timedelta(hours=self.rng.randrange(int(SPAN.total_seconds()) // 3600))
                created = groups.setdefault(fts, set())
                cts = None if None not in created and self.chance(0.3) else (
                    fts + timedelta(seconds=self.rng.randrange(-7_200, 5 * 86_400)))
                if cts in created:
                    continue
                created.add(cts)
                rows.append({"entity_id": entity, "feature_ts": fts, "created_ts": cts,
                             "f_int": self.maybe_null(self.rng.randrange(-1000, 1000)),
                             "f_dbl": self.maybe_null(self.rng.uniform(-1e6, 1e6))})
        for _ in range(20):  # rows that can never match
            rows.append({"entity_id": None, "feature_ts": self.ts(), "created_ts": None,
                         "f_int": 1, "f_dbl": 1.0})
            rows.append({"entity_id": self.entity(0), "feature_ts": None, "created_ts": self.ts(),
                         "f_int": 2, "f_dbl": 2.0})
        self.rng.shuffle(rows)
        return rows

    def feature_view_b(self) -> Rows:
        rows: Rows = []
        for entity in range(1, self.sizes.entities + 1):
            times = {self.ts() for _ in range(self.rng.randint(1, 2 * self.sizes.fv_b_per_entity))}
            rows += [{"entity_id": entity, "feature_ts": t,
                      "f_str": self.maybe_null(f"s{self.rng.randrange(100)}"),
                      "f_dec": self.maybe_null(self.money(3))} for t in sorted(times)]
        for _ in range(20):
            rows.append({"entity_id": None, "feature_ts": self.ts(), "f_str": "never", "f_dec": Decimal(1)})
            rows.append({"entity_id": self.entity(0), "feature_ts": None, "f_str": "never",
                         "f_dec": Decimal(2)})
        self.rng.shuffle(rows)
        return rows

    def labels(self, fv_a: Rows, fv_b: Rows) -> Rows:
        n = self.sizes.labels
        a = [r for r in fv_a if r["entity_id"] is not None and r["feature_ts"] is not None]
        b = [r for r in fv_b if r["entity_id"] is not None and r["feature_ts"] is not None]
        points: list[tuple[int | None, datetime | None]] = []
        points += [(self.entity(), self.ts()) for _ in range(n * 38 // 100)]
        shifts_a = [timedelta(0), timedelta(days=2), timedelta(days=2) + US, timedelta(hours=7)]
        shifts_b = [timedelta(0), -US, timedelta(hours=6), timedelta(hours=6) + US]
        for _ in range(n * 30 // 100):
            r = self.rng.choice(a)
            points.append((r["entity_id"], r["feature_ts"] + self.rng.choice(shifts_a)))
        for _ in range(n * 30 // 100):
            r = self.rng.choice(b)
            points.append((r["entity_id"], r["feature_ts"] + self.rng.choice(shifts_b)))
        points += [(None, self.ts()) for _ in range(n // 100)]
        points += [(self.entity(), None) for _ in range(n // 100)]
        rows = [{"entity_id": e, "label_ts": t, "label": self.rng.randrange(2)} for e, t in points]
        self.rng.shuffle(rows)
        for _ in range(n * 3 // 100):  # duplicate label rows, sometimes adjacent
            pos = self.rng.randrange(len(rows))
            rows.insert(self.rng.choice([pos + 1, self.rng.randrange(len(rows) + 1)]), dict(rows[pos]))
        return rows


def generate(seed: int, sizes: Sizes | None = None) -> Dataset:
    g = _Gen(seed, sizes or Sizes())
    events, versions = g.events(), g.versions()
    fv_a, fv_b = g.feature_view_a(), g.feature_view_b()
    return Dataset({
        "events": events, "event_versions": versions, "spine": g.spine(events, versions),
        "labels": g.labels(fv_a, fv_b), "fv_a": fv_a, "fv_b": fv_b, "grid_spine": g.grid_spine(events),
    })
