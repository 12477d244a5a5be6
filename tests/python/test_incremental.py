"""Incremental feature views equal a full rebuild after every day of a randomized event stream (issue 12).

A seeded stream of event versions is delivered day by day: most events arrive the day after they happened,
some up to LATEST days later (exactly the look-back's edge included), some are corrected later (amount,
entity or event time changed), some happened before the spine starts. After each delivery one `dbt run` builds
the models of integration_tests/models/incremental: three feature views (tiled rolling_agg, the bucketed join
with a count_distinct, the bitemporal as_known_at mode), each as a dbt incremental model (delete+insert on
(entity_id, feature_ts), spine from fstore.incremental_spine_start with a 3d look-back) and as a table rebuilt
from scratch. Every day, every cell of each incremental table must equal its full rebuild.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fstore_testing.engines import Engine
from fstore_testing.warehouse import Column

SEED = int(os.environ.get("FSTORE_INCREMENTAL_SEED", "20240301"))
START = datetime(2024, 3, 1)
DAYS = 10  # runs 0..9; run r builds the spine START .. START + r days
LOOKBACK_DAYS = 3  # the models' look-back (inc_lookback)
# A version delivered at run r is absorbed if its event day d has d + 1 >= r - 1 - LOOKBACK_DAYS (the first
# point its windows touch is recomputed): at most LOOKBACK_DAYS + 1 days after the normal arrival d + 1.
LATEST = LOOKBACK_DAYS + 1
VIEWS = ("inc_tiled", "inc_joined", "inc_known")
US = timedelta(microseconds=1)

COLUMNS = {
    "entities": [Column("entity_id", "integer")],
    "event_versions": [
        Column("event_id", "integer"), Column("entity_id", "integer"), Column("event_ts", "timestamp"),
        Column("amount", "numeric(12,2)"), Column("category", "varchar"), Column("ingested_at", "timestamp"),
    ],
}


@dataclass
class Version:
    row: dict[str, Any]
    run: int  # the run that first sees it
    kind: str  # what the generator made it: on time, late, edge, correction, ...


def _day_time(rng: random.Random, day: int) -> datetime:
    base = START + timedelta(days=day)
    r = rng.random()
    if r < 0.1:
        return base  # exactly midnight: in the window that starts there, outside the one ending there
    if r < 0.15:
        return base + timedelta(days=1) - US
    return base + timedelta(seconds=rng.randrange(86_400), microseconds=rng.randrange(1_000_000))


def stream(seed: int, n_events: int = 360, n_entities: int = 20) -> list[Version]:
    rng = random.Random(seed)
    out: list[Version] = []
    for event_id in range(n_events):
        day = rng.randrange(-8, DAYS - 1)
        lateness = rng.choices([0, 1, 2, 3, LATEST], [60, 10, 10, 10, 10])[0]
        arrival = min(max(0, day + 1 + lateness), DAYS - 1) if day >= 0 else 0
        row = {"event_id": event_id, "entity_id": rng.randint(1, n_entities + 2),  # two unknown entities
               "event_ts": _day_time(rng, day),
               "amount": None if rng.random() < 0.05 else Decimal(rng.randrange(-5_000, 100_000)).scaleb(-2),
               "category": None if rng.random() < 0.05 else f"c{rng.randrange(6)}"}
        kind = "before the spine" if day < 0 else ("on time" if lateness == 0 else
                                                   "at the look-back edge" if lateness == LATEST else "late")
        out.append(Version(row, arrival, kind))
        for _ in range(rng.choices([0, 1, 2], [70, 22, 8])[0]):  # corrections, each within the look-back
            before = out[-1]
            row = dict(before.row)
            change = rng.choice(["amount", "entity", "time"])
            if change == "amount":
                row["amount"] = Decimal(rng.randrange(0, 100_000)).scaleb(-2)
            elif change == "entity":
                row["entity_id"] = rng.randint(1, n_entities)
            else:
                row["event_ts"] = _day_time(rng, max(-8, min(DAYS - 2, day + rng.choice([-1, 0, 1]))))
            # the earliest day either version counts in decides how late the correction may come
            first_day = min((before.row["event_ts"] - START).days, (row["event_ts"] - START).days)
            last_ok = min(first_day + 1 + LATEST if first_day >= 0 else 0, DAYS - 1)
            if before.run > last_ok:
                break
            out.append(Version(row, rng.randint(before.run, last_ok), f"correction of {change}"))
    # ingested_at: just before the run that first sees the version, later versions of an event later
    for i, v in enumerate(out):
        v.row["ingested_at"] = START + timedelta(days=v.run) - timedelta(hours=1) + timedelta(seconds=i)
    return out


def test_stream_hits_the_cases() -> None:
    kinds: dict[str, int] = {}
    for v in stream(SEED):
        kinds[v.kind] = kinds.get(v.kind, 0) + 1
    thin = {k: n for k, n in kinds.items() if n < 10}
    assert len(kinds) == 7 and not thin, f"seed {SEED}: too few versions of some kind: {kinds}"


def _rows(engine: Engine, table: str) -> list[dict[str, Any]]:
    rows = engine.integration.warehouse.read_table(engine.integration.schema, table)
    return sorted(rows, key=lambda r: (r["entity_id"], r["feature_ts"]))


@pytest.mark.parametrize("engine_name", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_incremental_equals_full_rebuild_every_day(
    engines: Callable[[str], Engine], engine_name: str
) -> None:
    engine = engines(engine_name)
    project = engine.integration
    versions = stream(SEED)
    entities = [{"entity_id": i} for i in range(1, 21)]
    load_dir = engine.work_dir / "incremental_csv"
    load_dir.mkdir(parents=True, exist_ok=True)
    compiled = project.target_path / "compiled" / "fstore_integration_tests" / "models" / "incremental"
    for run in range(DAYS):
        delivered = [v.row for v in versions if v.run <= run]
        project.warehouse.load_tables(engine.reference_schema, {
            "entities": (COLUMNS["entities"], entities),
            "event_versions": (COLUMNS["event_versions"], delivered),
        }, load_dir)
        day = (START + timedelta(days=run)).date().isoformat()
        project.dbt.ok("run", "--select", "tag:incremental",
                       dbt_vars={"fstore_incremental_tests": True, "inc_end": day,
                                 "inc_lookback": f"{LOOKBACK_DAYS}d"})
        for view in VIEWS:
            sql = (compiled / f"{view}.sql").read_text()
            assert (" from " in sql and "max(feature_ts)" in sql) == (run > 0), (
                f"{view} on {engine_name}, run {run}: expected an "
                f"{'incremental' if run else 'initial full'} build")
            incremental, full = _rows(engine, view), _rows(engine, f"{view}_full")
            assert len(full) == len(entities) * (run + 1), f"{view}_full, run {run}: {len(full)} rows"
            diffs = [f"{f['entity_id']} @ {f['feature_ts']} {c}: incremental {i.get(c)!r}, full {f[c]!r}"
                     for i, f in zip(incremental, full, strict=False) for c in f if i.get(c) != f[c]]
            assert len(incremental) == len(full) and not diffs, (
                f"{view} on {engine_name} (seed {SEED}) after run {run} ({day}): {len(incremental)} rows vs "
                f"{len(full)} in the full rebuild, {len(diffs)} differing cells:\n" + "\n".join(diffs[:15]))


def test_a_correction_beyond_the_look_back_needs_a_backfill(engines: Callable[[str], Engine]) -> None:
    """The look-back is the limit (the proof above can fail), and a date-range backfill repairs the rest."""
    engine = engines("duckdb")
    project = engine.integration
    versions = [v.row for v in stream(SEED)]
    entities = [{"entity_id": i} for i in range(1, 21)]
    load_dir = engine.work_dir / "incremental_backfill_csv"
    load_dir.mkdir(parents=True, exist_ok=True)
    end = (START + timedelta(days=DAYS - 1)).date().isoformat()
    base_vars = {"fstore_incremental_tests": True, "inc_end": end, "inc_lookback": f"{LOOKBACK_DAYS}d"}

    def deliver(rows: list[dict[str, Any]]) -> None:
        project.warehouse.load_tables(engine.reference_schema, {
            "entities": (COLUMNS["entities"], entities), "event_versions": (COLUMNS["event_versions"], rows),
        }, load_dir)

    def differing_cells(view: str) -> int:
        pairs = zip(_rows(engine, view), _rows(engine, f"{view}_full"), strict=True)
        return sum(i[c] != f[c] for i, f in pairs for c in f)

    deliver(versions)
    project.dbt.ok("run", "--select", "tag:incremental", "--full-refresh", dbt_vars=base_vars)
    # A correction of an event of day 1, delivered at the last day: far beyond the 3d look-back.
    old = next(v for v in versions if v["event_ts"] is not None and (v["event_ts"] - START).days == 1
               and v["entity_id"] <= len(entities))
    late = {**old, "amount": Decimal("123456.78"), "ingested_at": START + timedelta(days=DAYS)}
    deliver([*versions, late])
    project.dbt.ok("run", "--select", "tag:incremental", dbt_vars=base_vars)
    assert differing_cells("inc_tiled") > 0, "a correction beyond the look-back was absorbed (test is blind)"
    backfill_from = (START + timedelta(days=1)).date().isoformat()
    project.dbt.ok("run", "--select", "tag:incremental",
                   dbt_vars={**base_vars, "fstore_backfill_start": backfill_from})
    for view in VIEWS:
        assert differing_cells(view) == 0, f"{view}: the backfill from {backfill_from} left differences"
