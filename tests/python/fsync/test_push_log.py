"""The push log on every store: entries appended in chunks, read back after an id, decoded, trimmed; and its
export into PostgreSQL, exactly once when two exports run at once."""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
from fstore_testing.dbt import PgSettings
from fstore_testing.demo import DemoBuild

from fsync.monitoring.push_log import export_push_log
from fsync.online import push_log
from fsync.online.stores.base import OnlineStore
from fsync.online.stores.sqlite import SQLiteStore
from fsync.timeutil import to_us
from fsync.warehouse import Warehouse, open_postgres


def test_append_read_trim(
    store: OnlineStore, duckdb_demo: DemoBuild, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fsync.manifest import load_manifest

    view = load_manifest(duckdb_demo.target_path).view("user_purchase_features@2")
    monkeypatch.setattr(push_log, "CHUNK", 3)
    as_of, done, avail = datetime(2024, 11, 29, 12), datetime(2026, 1, 1), datetime(2024, 11, 29, 12, 0, 1)
    keys = [str(i) for i in range(7)]
    ts = [to_us(datetime(2024, 11, 29)) + i for i in range(7)]
    assert push_log.entries(store, None, 10) == []
    push_log.append(store, view, 4, "full", as_of, done, avail, keys, ts)
    push_log.append(store, view, 4, "incremental", as_of, done, avail, [], [])  # nothing written: no entry
    got = push_log.entries(store, None, 10)
    assert len(got) == 3  # 7 entities in chunks of 3
    records = [r for e in got for r in push_log.decode(e)]
    assert [r.entity_key for r in records] == keys
    assert {(r.view, r.version, r.relation, r.generation, r.mode) for r in records} == {
        ("user_purchase_features", 2, "user_purchase_features_v2", 4, "full")
    }
    assert records[0].available_at == avail and records[-1].feature_ts == datetime(2024, 11, 29, 0, 0, 0, 6)
    assert len(push_log.entries(store, got[0].id, 10)) == 2
    push_log.trim(store, got[1].id)
    assert [e.id for e in push_log.entries(store, None, 10)] == [got[2].id]


@pytest.mark.postgres
def test_two_exports_at_once_hold_every_entry_once(
    duckdb_demo: DemoBuild, pg_settings: PgSettings, tmp_path: Path
) -> None:
    """Rounds of two concurrent `export_push_log` runs (own store connections, random batch sizes, entries
    appended between rounds) into one PostgreSQL table: every pushed entity is there exactly once."""
    from fsync.manifest import load_manifest

    view = load_manifest(duckdb_demo.target_path).view("user_purchase_features@2")
    pg = pg_settings
    dsn = f"host={pg.host} port={pg.port} user={pg.user} password={pg.password} dbname={pg.database}"
    warehouse = Warehouse(kind="postgres", postgres_dsn=dsn)
    schema = f"fstore_pushlog_{uuid.uuid4().hex[:8]}"
    rng = random.Random(20261201)
    path = tmp_path / "online.sqlite"
    appended: list[str] = []
    as_of = datetime(2024, 11, 29, 12)
    try:
        for round_ in range(6):
            writer = SQLiteStore(path)
            for _ in range(rng.randint(20, 60)):
                keys = [f"{round_}-{len(appended) + i}" for i in range(rng.randint(1, 4))]
                ts = [to_us(as_of)] * len(keys)
                push_log.append(writer, view, 1, "full", as_of, as_of, as_of, keys, ts)
                appended += keys
            writer.close()
            errors: list[BaseException] = []

            def run(batch: int, errors: list[BaseException] = errors) -> None:
                store = SQLiteStore(path)
                try:
                    export_push_log(store, warehouse, f"{schema}.push_log", batch_size=batch)
                except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                    errors.append(exc)
                finally:
                    store.close()

            threads = [threading.Thread(target=run, args=(rng.randint(1, 7),)) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(120)
            assert not errors, errors
        con = open_postgres(dsn)
        with con.cursor() as cur:
            cur.execute(f'select entity_key from "{schema}".push_log')
            exported = Counter(str(r[0]) for r in cur.fetchall())
        con.close()
        assert exported.most_common(1)[0][1] == 1  # nothing twice
        assert set(exported) == set(appended)  # nothing lost
    finally:
        con = open_postgres(dsn)
        with con.cursor() as cur:
            cur.execute(f'drop schema if exists "{schema}" cascade')
        con.commit()
        con.close()
