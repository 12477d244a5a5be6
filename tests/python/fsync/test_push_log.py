"""The push log on both stores: entries appended in chunks, read back after an id, decoded, trimmed."""

from __future__ import annotations

from datetime import datetime

import pytest
from fstore_testing.demo import DemoBuild

from fsync.online import push_log
from fsync.online.stores.base import OnlineStore
from fsync.timeutil import to_us


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
