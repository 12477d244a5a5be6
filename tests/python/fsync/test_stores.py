"""One contract suite, run against both online stores (SQLite, and a private real redis-server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis

from fsync.online.encoding import encode_value
from fsync.online.stores.base import EXPIRES_AT, FEATURE_TS, GENERATION, PUSHED_AT, Batch, OnlineStore
from fsync.online.stores.redis import RedisStore
from fsync.timeutil import to_us

T = datetime(2024, 6, 1, 12, 0, 0)
VALUES = {
    "i": -(2**62) + 7,
    "f": 0.1 + 0.2,
    "d": Decimal("-12345.6780"),
    "b": False,
    "s": "ünï|cø\\de:",
    "t": datetime(2024, 5, 31, 23, 59, 59, 999999),
    "null": None,
}


# The stores' physical clock is the wall clock: writes made "as of" T shift it by wall - T (as a push does).
OFFSET_MS = (to_us(datetime.now(UTC).replace(tzinfo=None)) - to_us(T)) // 1000


def batch(records: list[tuple[str, dict[str, str], int]]) -> Batch:
    names = list(records[0][1])
    return Batch(
        names,
        [],
        [r[0] for r in records],
        [r[2] for r in records],
        [[r[1][n] for r in records] for n in names],
    )


def write(store: OnlineStore, view: str, records: list[tuple[str, dict[str, str], int]]) -> None:
    store.write(view, batch(records), OFFSET_MS)
    store.flush()


def record(
    entity: str,
    values: dict[str, object],
    feature_ts: datetime = T,
    ttl: timedelta = timedelta(hours=1),
    generation: int = 1,
) -> tuple[str, dict[str, str], int]:
    expires = to_us(feature_ts + ttl)
    fields = {k: encode_value(v) for k, v in values.items()}
    fields.update(
        {
            FEATURE_TS: encode_value(feature_ts),
            EXPIRES_AT: str(expires),
            PUSHED_AT: encode_value(T),
            GENERATION: str(generation),
        }
    )
    return entity, fields, expires


def test_round_trip_every_type_and_null_is_not_absent(store: OnlineStore) -> None:
    write(store, "v:v1", [record("42", VALUES)])
    got = store.get("v:v1", "42", T)
    assert got is not None
    assert {k: got[k] for k in VALUES} == VALUES
    assert [type(got[k]) for k in VALUES] == [type(v) for v in VALUES.values()]
    assert "null" in got and got["null"] is None  # NULL is stored, not absent
    assert "missing" not in got
    assert got[FEATURE_TS] == T and got[PUSHED_AT] == T
    assert store.get("v:v1", "43", T) is None  # an absent entity


def test_expiry_is_inclusive_at_feature_ts_plus_ttl(store: OnlineStore) -> None:
    write(store, "v:v1", [record("1", {"x": 1}, ttl=timedelta(hours=1))])
    assert store.get("v:v1", "1", T + timedelta(hours=1)) is not None
    assert store.get("v:v1", "1", T + timedelta(hours=1, microseconds=1)) is None
    assert store.snapshot("v:v1", T + timedelta(hours=2)) == {}


def test_rewrite_replaces_the_whole_entity(store: OnlineStore) -> None:
    write(store, "v:v1", [record("1", {"a": 1, "b": 2})])
    write(store, "v:v1", [record("1", {"a": 3})])
    got = store.get("v:v1", "1", T)
    assert got is not None and got["a"] == 3 and "b" not in got


def test_versions_live_side_by_side(store: OnlineStore) -> None:
    write(store, "v:v1", [record("1", {"a": 1})])
    write(store, "v:v2", [record("1", {"a": 2, "c": "x"})])
    v1, v2 = store.get("v:v1", "1", T), store.get("v:v2", "1", T)
    assert v1 is not None and v2 is not None
    assert (v1["a"], v2["a"], v2["c"]) == (1, 2, "x") and "c" not in v1
    assert set(store.snapshot("v:v1", T)) == {"1"}


def test_watermarks_per_view(store: OnlineStore) -> None:
    assert store.get_watermark("v:v1") is None
    store.set_watermark("v:v1", {"as_of": T.isoformat(), "generation": 3})
    store.set_watermark("v:v2", {"as_of": "x", "generation": 1})
    assert store.get_watermark("v:v1") == {"as_of": T.isoformat(), "generation": 3}


def test_delete_stale_keeps_only_the_generation(store: OnlineStore) -> None:
    write(store, "v:v1", [record(str(i), {"a": i}, generation=1) for i in range(2500)])
    write(store, "v:v1", [record(str(i), {"a": i}, generation=2) for i in range(0, 2500, 2)])
    write(store, "w:v1", [record("1", {"a": 1}, generation=1)])
    assert store.delete_stale("v:v1", 2) == 1250
    assert set(store.snapshot("v:v1", T)) == {str(i) for i in range(0, 2500, 2)}
    assert set(store.snapshot("w:v1", T)) == {"1"}  # another view is untouched


def test_redis_hash_layout_and_physical_expiry(redis_url: str) -> None:
    store = RedisStore(redis_url, prefix="layout")
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    now = datetime.now(UTC).replace(tzinfo=None).replace(microsecond=0)
    store.write(
        "v:v2", batch([record("7", {"a": 1}, feature_ts=now, ttl=timedelta(days=1))]), expire_offset_ms=0
    )
    store.flush()
    raw = client.hgetall("layout:v:v2:7")
    assert raw["a"] == "i1" and raw[FEATURE_TS] == "t" + now.isoformat()
    assert client.pexpiretime("layout:v:v2:7") == to_us(now + timedelta(days=1)) // 1000
    # Written with the wall clock as "now", a value already past feature_ts + ttl is gone at once.
    store.write(
        "v:v2", batch([record("8", {"a": 1}, feature_ts=now - timedelta(hours=2))]), expire_offset_ms=0
    )
    store.flush()
    assert client.exists("layout:v:v2:8") == 0
    store.close()


@pytest.mark.parametrize(
    "value",
    [
        float("inf"),
        float("-inf"),
        -0.0,
        5e-324,
        1e308,
        Decimal("1E+2"),
        Decimal("0.0000"),
        "",
        "n",
        True,
        0,
        datetime(1, 1, 1),
    ],
)
def test_edge_values_round_trip(store: OnlineStore, value: object) -> None:
    write(store, "v:v1", [record("k", {"x": value})])
    got = store.get("v:v1", "k", T)
    assert got is not None and got["x"] == value and type(got["x"]) is type(value)
    assert str(got["x"]) == str(value)
