"""One contract suite, run against both online stores (SQLite, and a private real redis-server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis

from fsync.online.encoding import encode_value
from fsync.online.served_log import LoggedView, decode_entry, pack_header, pack_views
from fsync.online.stores.base import META, Batch, OnlineStore, ViewRead, log_id_key
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


Entity = tuple[str, dict[str, str], int, int, int]  # entity, encoded fields, feature_ts_us, expires_us, gen


def batch(records: list[Entity]) -> Batch:
    names = list(records[0][1])
    generations = {r[4] for r in records}
    assert len(generations) == 1, "one generation per batch, as a push writes"
    return Batch(
        names,
        [r[0] for r in records],
        [r[2] for r in records],
        [r[3] for r in records],
        [[r[1][n] for r in records] for n in names],
        generations.pop(),
    )


def write(store: OnlineStore, view: str, records: list[Entity]) -> None:
    store.write(view, batch(records), OFFSET_MS)
    store.flush()


def record(
    entity: str,
    values: dict[str, object],
    feature_ts: datetime = T,
    ttl: timedelta = timedelta(hours=1),
    generation: int = 1,
) -> Entity:
    fields = {k: encode_value(v) for k, v in values.items()}
    return entity, fields, to_us(feature_ts), to_us(feature_ts + ttl), generation


def test_round_trip_every_type_and_null_is_not_absent(store: OnlineStore) -> None:
    write(store, "v:v1", [record("42", VALUES)])
    got = store.get("v:v1", "42", T)
    assert got is not None
    assert got.values == VALUES
    assert [type(got.values[k]) for k in VALUES] == [type(v) for v in VALUES.values()]
    assert "null" in got.values and got.values["null"] is None  # NULL is stored, not absent
    assert got.feature_ts == T and got.generation == 1
    assert store.get("v:v1", "43", T) is None  # an absent entity


def test_read_many_entities_only_the_requested_fields(store: OnlineStore) -> None:
    write(store, "v:v1", [record(str(i), {"a": i, "b": f"x{i}", "c": None}) for i in range(1200)])
    got = store.read("v:v1", ["5", "nope", "1199", "5"], ["c", "a"])
    assert [r.values if r else None for r in got] == [{"c": None, "a": 5}, None, {"c": None, "a": 1199},
                                                      {"c": None, "a": 5}]
    assert all(r.feature_ts == T for r in got if r)
    every = store.read("v:v1", [str(i) for i in range(1200)])
    assert len(every) == 1200 and every[7] is not None and every[7].values == {"a": 7, "b": "x7", "c": None}
    assert store.read("v:v1", []) == []
    # a field the view does not hold is left out, never invented
    one = store.read("v:v1", ["5"], ["a", "zz"])[0]
    assert one is not None and one.values == {"a": 5}


def test_expiry_is_inclusive_at_feature_ts_plus_ttl(store: OnlineStore) -> None:
    write(store, "v:v1", [record("1", {"x": 1}, ttl=timedelta(hours=1))])
    assert store.get("v:v1", "1", T + timedelta(hours=1)) is not None
    assert store.get("v:v1", "1", T + timedelta(hours=1, microseconds=1)) is None
    assert store.snapshot("v:v1", T + timedelta(hours=2)) == {}


def test_a_row_is_not_served_before_its_feature_ts(store: OnlineStore) -> None:
    write(store, "v:v1", [record("1", {"x": 1}, feature_ts=T)])
    assert store.get("v:v1", "1", T) is not None
    assert store.get("v:v1", "1", T - timedelta(microseconds=1)) is None  # the later row was not valid then
    assert store.snapshot("v:v1", T - timedelta(hours=1)) == {}


def test_rewrite_replaces_the_whole_entity(store: OnlineStore) -> None:
    write(store, "v:v1", [record("1", {"a": 1, "b": 2})])
    write(store, "v:v1", [record("1", {"a": 3})])
    got = store.get("v:v1", "1", T)
    assert got is not None and got.values == {"a": 3}


def test_versions_live_side_by_side(store: OnlineStore) -> None:
    write(store, "v:v1", [record("1", {"a": 1})])
    write(store, "v:v2", [record("1", {"a": 2, "c": "x"})])
    v1, v2 = store.get("v:v1", "1", T), store.get("v:v2", "1", T)
    assert v1 is not None and v2 is not None
    assert (v1.values["a"], v2.values["a"], v2.values["c"]) == (1, 2, "x") and "c" not in v1.values
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
    assert raw == {"a": "i1", META: f"{to_us(now)}:{to_us(now + timedelta(days=1))}:1"}
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
    assert got is not None and got.values["x"] == value and type(got.values["x"]) is type(value)
    assert str(got.values["x"]) == str(value)


# -- the serving read path: many views in one round trip, and the served-value log -----------------------


def test_read_many_views_raw_rows_in_request_order(store: OnlineStore) -> None:
    write(store, "a:v1", [record("1", {"x": 1, "y": "s"}), record("2", {"x": None, "y": "t"})])
    write(store, "b:_", [record("1", {"z": 1.5})])
    rows = store.read_many(
        [ViewRead("a:v1", ["2", "9", "1", "2"], ["y", "x", "nope"]), ViewRead("b:_", ["1", "2"], ["z"]),
         ViewRead("c:_", [], ["q"])]
    )
    meta = f"{to_us(T)}:{to_us(T + timedelta(hours=1))}:1"
    assert rows == [
        [["st", "n", None, meta], [None] * 4, ["ss", "i1", None, meta], ["st", "n", None, meta]],
        [["f1.5", meta], [None, None]],
        [],
    ]
    assert store.read_many([]) == []


def test_read_many_with_log_records_exactly_what_was_served(store: OnlineStore) -> None:
    write(store, "a:v1", [record("1", {"x": 1, "y": None}), record("2", {"x": None, "y": None})])
    # expired at `now` below, but kept physically for an hour more (the store's clock is the wall clock)
    offset = (to_us(datetime.now(UTC).replace(tzinfo=None)) - to_us(T)) // 1000 + 3_600_000
    store.write("a:v1", batch([record("3", {"x": 3, "y": "old"}, ttl=timedelta(minutes=1))]), offset)
    store.flush()
    views = [LoggedView("a", 1, "a:v1", ("x", "y"))]
    entities = [["1", "2", "3", "4"]]
    now = T + timedelta(minutes=30)
    assert store.log_length() == 0
    ids = []
    for i in range(3):
        header = pack_header(pack_views("svc", views), f"req{i}", to_us(now), to_us(now), entities)
        served = store.read_many([ViewRead("a:v1", entities[0], ["x", "y"])], header)
        # logging changes nothing of what is read
        assert served == store.read_many([ViewRead("a:v1", entities[0], ["x", "y"])])
        ids.append(store.log_entries(ids[-1] if ids else None, 10)[0].id)
    assert store.log_length() == 3 and ids == sorted(ids, key=log_id_key) and len(set(ids)) == 3
    entries = store.log_entries(None, 10)
    assert [e.id for e in entries] == ids
    rows = list(decode_entry(entries[0]))
    assert [(r.request_id, r.service, r.view, r.version, r.entity_key, r.status) for r in rows] == [
        ("req0", "svc", "a", 1, "1", "present"),
        ("req0", "svc", "a", 1, "2", "null"),
        ("req0", "svc", "a", 1, "3", "expired"),
        ("req0", "svc", "a", 1, "4", "missing"),
    ]
    assert rows[0].values == {"x": 1, "y": None} and rows[1].values == {"x": None, "y": None}
    assert rows[2].values == {} and rows[2].feature_ts == T and rows[3].feature_ts is None
    assert rows[0].served_at == now and rows[0].now == now
    assert store.log_entries(ids[0], 1)[0].id == ids[1]  # `after` is exclusive; `limit` bounds
    assert store.log_trim(ids[1]) == 2
    assert [e.id for e in store.log_entries(None, 10)] == ids[2:] and store.log_length() == 1


def test_read_many_with_log_of_no_entities(store: OnlineStore) -> None:
    views = pack_views(None, [LoggedView("a", None, "a:_", ("x",))])
    header = pack_header(views, "r", to_us(T), to_us(T), [[]])
    assert store.read_many([ViewRead("a:_", [], ["x"])], header) == [[]]
    (entry,) = store.log_entries(None, 10)
    assert list(decode_entry(entry)) == []
