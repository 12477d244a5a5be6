"""`fsync serve`: a real server process on the demo, real HTTP requests, Feast's request and response shapes,
4xx errors that name the problem, registry reload on SIGHUP, and no secret in anything it prints."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fstore_testing.demo import DemoBuild
from fstore_testing.redis_server import free_port, start_redis
from fstore_testing.server import Server, start_server
from fstore_testing.stores import open_store_from_env

from fsync import FeatureStore
from fsync.jsonvalue import jsonable
from fsync.online.served_log import decode_entry

LAST_DAY = datetime(2024, 12, 1, 12, 0)
PASSWORD = "s3cr3t-Pa55"


@pytest.fixture(scope="module")
def secret_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    proc = start_redis(tmp_path_factory.mktemp("redis-pw"), port, password=PASSWORD)
    yield f"redis://:{PASSWORD}@127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def served(
    duckdb_demo: DemoBuild, secret_redis: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, dict[str, str]]]:
    target = duckdb_demo.manifest_copy(tmp_path_factory.mktemp("target"), lambda doc: None)
    env = {
        **{k: v for k, v in duckdb_demo.fsync_env().items() if v is not None},
        "FSYNC_STORE": "redis",
        "FSYNC_REDIS_URL": secret_redis,
        "FSYNC_KEY_PREFIX": "served",
        "FSYNC_TARGET_PATH": str(target),
    }
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("FSYNC_", "DBT_"))}, **env}
    result = duckdb_demo.fsync("push", "--as-of", LAST_DAY.isoformat(), env=env)
    assert result.exit_code == 0, result.output
    server = start_server(env)
    yield server, env
    output = server.stop()
    assert PASSWORD not in output and "Traceback" not in output, output


def _sdk(env: dict[str, str]) -> FeatureStore:
    return FeatureStore(env["FSYNC_PROJECT_DIR"], env=env)


def test_feast_request_and_response_shape(served: tuple[Server, dict[str, str]]) -> None:
    server, env = served
    status, body = server.request(
        "POST",
        "/get-online-features",
        {
            "feature_service": "training_churn",
            "entities": {"user_id": [1150, 1151, 424242]},
            "now": "2024-12-01T12:00:00Z",
        },
    )
    assert status == 200, body
    fs = _sdk(env)
    want = fs.get_online_features(
        {"user_id": [1150, 1151, 424242]}, service="training_churn", now=LAST_DAY, log=False
    )
    names = body["metadata"]["feature_names"]
    assert names == ["user_id", *want.feature_names]
    assert [r["values"] for r in body["results"]] == [jsonable(want.columns[n]) for n in names]
    assert body["results"][0]["statuses"] == ["PRESENT"] * 3
    statuses = want.feature_statuses()
    assert [r["statuses"] for r in body["results"][1:]] == [statuses[n] for n in names[1:]]
    assert body["results"][1]["event_timestamps"][:2] == ["2024-12-01T00:00:00Z"] * 2
    assert body["results"][1]["statuses"][2] == "NOT_FOUND"
    assert body["metadata"]["statuses"] == want.statuses
    assert body["metadata"]["feature_service"] == "training_churn"
    # a Decimal is exact JSON text, a float a number
    amount = body["results"][names.index("purchase__amount_sum_30d")]["values"][0]
    assert isinstance(amount, str) and amount == str(want.columns["purchase__amount_sum_30d"][0])
    fs.close()


def test_features_by_name_and_now_as_an_input(served: tuple[Server, dict[str, str]]) -> None:
    server, _ = served
    request: dict[str, Any] = {
        "features": ["user_purchase_features@2:purchase_count_30d", "user_session_features:session_count_7d"],
        "entities": {"user_id": [1150]},
    }
    status, body = server.request("POST", "/get-online-features", {**request, "now": "2024-12-01T12:00:00"})
    assert status == 200 and body["metadata"]["feature_names"] == [
        "user_id",
        "user_purchase_features__purchase_count_30d",
        "user_session_features__session_count_7d",
    ]
    assert body["results"][1]["statuses"] == ["PRESENT"]
    status, body = server.request("POST", "/get-online-features", {**request, "now": "2024-12-05T00:00:00Z"})
    assert status == 200 and body["results"][1] == {
        "values": [None],
        "statuses": ["OUTSIDE_MAX_AGE"],
        "event_timestamps": ["2024-12-01T00:00:00Z"],
    }


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"feature_service": "churn_modle", "entities": {"user_id": [1]}}, "Did you mean 'churn_model'?"),
        ({"features": ["user_session_features:nope"], "entities": {"user_id": [1]}}, "'nope' is not one of"),
        ({"features": ["nope:x"], "entities": {"user_id": [1]}}, "no feature view named 'nope'"),
        (
            {"feature_service": "training_churn", "entities": {"userid": [1]}},
            "entity key 'userid' is not a key",
        ),
        ({"feature_service": "training_churn", "entities": {"user_id": ["abc"]}}, "is an integer column"),
        ({"feature_service": "training_churn"}, '"entities" must map each entity key'),
        ({"feature_service": "training_churn", "entities": {"user_id": 1}}, "must be a list of values"),
        ({"feature_service": "training_churn", "entities": {"user_id": [1]}, "now": "soon"}, "not an ISO"),
        (
            {"feature_service": "training_churn", "entities": {"user_id": [1]}, "colour": 1},
            "unknown request field",
        ),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_bad_requests_are_400_with_the_fix(
    served: tuple[Server, dict[str, str]], request_body: Any, message: str
) -> None:
    server, _ = served
    status, body = server.request("POST", "/get-online-features", request_body)
    assert status == 400 and message in body["detail"], body
    status, body = server.request("POST", "/get-online-features", raw=b"{not json")
    assert status == 400 and "not JSON" in body["detail"]


def test_health_and_services(served: tuple[Server, dict[str, str]]) -> None:
    server, _ = served
    status, health = server.request("GET", "/health")
    assert status == 200 and health["status"] == "ok" and PASSWORD not in json.dumps(health)
    assert "***" in health["store"]
    status, body = server.request("GET", "/services")
    assert status == 200 and [s["name"] for s in body["services"]] == [
        "churn_model",
        "fraud_model",
        "training_churn",
        "training_fraud",
    ]
    assert body["services"][3]["views"][0]["view"] == "user_purchase_features@1"


def test_sighup_reloads_the_registry(served: tuple[Server, dict[str, str]]) -> None:
    server, env = served
    manifest = Path(env["FSYNC_TARGET_PATH"]) / "manifest.json"
    doc = json.loads(manifest.read_text())
    exposure = doc["exposures"]["exposure.fstore_demo.fraud_model"]
    original = json.dumps(doc)
    exposure["name"] = "fraud_model_v2"
    doc["exposures"]["exposure.fstore_demo.fraud_model_v2"] = exposure
    manifest.write_text(json.dumps(doc))
    try:
        server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        names: list[str] = []
        while time.monotonic() < deadline and "fraud_model_v2" not in names:
            time.sleep(0.1)
            names = [s["name"] for s in server.request("GET", "/services")[1]["services"]]
        assert "fraud_model_v2" in names
        status, body = server.request(
            "POST",
            "/get-online-features",
            {"feature_service": "fraud_model_v2", "entities": {"user_id": [1150]}},
        )
        assert status == 200 and body["metadata"]["feature_names"][1] == "purchase__purchase_count_30d"
    finally:
        manifest.write_text(original)
        server.proc.send_signal(signal.SIGHUP)


def test_a_logged_service_logs_what_it_served(served: tuple[Server, dict[str, str]]) -> None:
    server, env = served
    status, body = server.request(
        "POST",
        "/get-online-features",
        {
            "feature_service": "churn_model",
            "entities": {"user_id": [1150]},
            "request_id": "http-1",
            "now": "2024-12-01T12:00:00",
        },
    )
    assert status == 200 and body["metadata"]["request_id"] == "http-1"  # churn_model has `log: true`
    store = open_store_from_env(env)
    try:
        deadline, rows = time.monotonic() + 5, []
        while time.monotonic() < deadline and not rows:  # sent within 100 ms when no other read comes
            rows = [
                r for e in store.log_entries(None, 1000) for r in decode_entry(e) if r.request_id == "http-1"
            ]
            time.sleep(0.05)
    finally:
        store.close()
    assert [(r.service, r.view, r.entity_key) for r in rows] == [
        ("churn_model", "user_purchase_features", "1150"),
        ("churn_model", "user_session_features", "1150"),
    ]
    names = body["metadata"]["feature_names"]
    served = rows[0].values["purchase_count_30d"]
    assert served == body["results"][names.index("purchase__purchase_count_30d")]["values"][0]
