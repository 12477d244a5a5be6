"""`fsync get`: several entities per call, and an unambiguous key form (issue 8 item 7): for a composite
key the parts joined by `|` with exactly one part per key column, any value as JSON with --entity; a KEY
with a backslash or the wrong number of parts is a usage error (exit 2, one line), never "absent"."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fstore_testing.demo import DemoBuild, node
from fstore_testing.stores import open_store_from_env, store_settings

from fsync.online.encoding import encode_value, entity_key
from fsync.online.stores.base import Batch
from fsync.timeutil import to_us

LAST_DAY = datetime(2024, 12, 1, 12, 0)
SESSIONS = "model.fstore_demo.user_session_features"


def test_several_keys_in_one_call(duckdb_demo: DemoBuild, redis_url: str, tmp_path: Path) -> None:
    env = store_settings("redis", redis_url, tmp_path)
    assert duckdb_demo.fsync("push", "--as-of", LAST_DAY.isoformat(), env=env).exit_code == 0
    result = duckdb_demo.fsync(
        "get",
        "user_purchase_features",
        "1150",
        "1151",
        "424242",
        "--entity",
        '{"user_id": 1152}',
        "--as-of",
        LAST_DAY.isoformat(),
        "--json",
        env=env,
    )
    assert result.exit_code == 1  # one entity is not served
    body = json.loads(result.stdout)
    assert body["view"] == "user_purchase_features@2"
    assert [(e["key"]["user_id"], e["status"]) for e in body["entities"]] == [
        (1150, "present"),
        (1151, "present"),
        (424242, "missing"),
        (1152, "present"),
    ]
    assert body["entities"][0]["feature_ts"] == "2024-12-01T00:00:00"
    assert set(body["entities"][0]["values"]) >= {"purchase_count_30d", "amount_sum_30d"}
    assert body["entities"][2]["values"] is None
    text = duckdb_demo.fsync(
        "get",
        "user_purchase_features@1",
        "1150",
        "--features",
        "order_count_30d",
        "--as-of",
        LAST_DAY.isoformat(),
        env=env,
    )
    assert (
        text.exit_code == 0 and "order_count_30d" in text.output and "purchase_count_30d" not in text.output
    )


def _composite(doc: dict[str, Any]) -> None:
    """user_session_features keyed by (user_id, device): a composite key with a text part."""
    n = node(doc, SESSIONS)
    n["columns"]["device"] = {"name": "device", "data_type": "varchar", "description": "device"}
    n["config"]["meta"]["feature_view"]["entity_keys"] = ["user_id", "device"]
    n["meta"] = n["config"]["meta"]


@pytest.fixture
def composite(duckdb_demo: DemoBuild, tmp_path: Path) -> dict[str, str]:
    target = duckdb_demo.manifest_copy(tmp_path / "target", _composite)
    env = {**store_settings("sqlite", "", tmp_path), "FSYNC_TARGET_PATH": str(target)}
    store = open_store_from_env(env)
    keys = [(7, "DE"), (7, "a|b"), (7, "back\\slash")]
    ts = to_us(datetime(2024, 12, 1))
    store.write(
        "user_session_features:_",
        Batch(
            ["session_count_7d"],
            [entity_key(k) for k in keys],
            [ts] * 3,
            [ts + 10**14] * 3,
            [[encode_value(i) for i in range(3)]],
            1,
        ),
    )
    store.flush()
    store.close()
    return env


def test_composite_keys_positional_and_json(duckdb_demo: DemoBuild, composite: dict[str, str]) -> None:
    result = duckdb_demo.fsync(
        "get",
        "user_session_features",
        "7|DE",
        "--entity",
        '{"user_id": 7, "device": "a|b"}',
        "--entity",
        '{"device": "back\\\\slash", "user_id": "7"}',
        "--features",
        "session_count_7d",
        "--json",
        env=composite,
    )
    assert result.exit_code == 0, result.output
    got = [(e["key"], e["values"]) for e in json.loads(result.stdout)["entities"]]
    assert got == [
        ({"user_id": 7, "device": "DE"}, {"session_count_7d": 0}),
        ({"user_id": 7, "device": "a|b"}, {"session_count_7d": 1}),
        ({"user_id": 7, "device": "back\\slash"}, {"session_count_7d": 2}),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["user_session_features", "7"],
            "KEY '7' has 1 part(s) but user_session_features has 2 key column(s)",
        ),
        (["user_session_features", "7|a|b"], "has 3 part(s)"),
        (["user_session_features", "7|back\\slash"], "contains a backslash"),
        (["user_session_features", "--entity", '{"user_id": 7}'], "every entity needs a value of 'device'"),
        (["user_session_features", "--entity", "[7]"], "must be a JSON object"),
        (["user_session_features", "--entity", "{"], "is not JSON"),
        (["user_session_features"], "give at least one KEY of user_session_features"),
        (["user_session_features", "x|DE"], "is an integer column; got 'x'"),
        (["user_session_features", "7|DE", "--features", "nope"], "'nope' is not one of its features"),
    ],
)
def test_ambiguous_or_wrong_keys_are_usage_errors(
    duckdb_demo: DemoBuild, composite: dict[str, str], args: list[str], message: str
) -> None:
    result = duckdb_demo.fsync("get", *args, env=composite)
    assert result.exit_code == 2, result.output
    assert message in result.output and result.output.startswith("fsync: error: ")
    assert len(result.output.strip().splitlines()) == 1
    as_json = duckdb_demo.fsync("get", *args, "--json", env=composite)
    assert as_json.exit_code == 2 and message in json.loads(as_json.stdout)["error"]["message"]
