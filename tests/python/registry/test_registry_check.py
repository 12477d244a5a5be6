"""`fsync check` and `fsync lock` on the demo build: metadata, version locks, deprecations, leakage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fstore_testing.dbt import DEMO_DIR
from fstore_testing.demo import DemoBuild, fv_meta, node

V2 = "model.fstore_demo.user_purchase_features.v2"


def _check(duckdb_demo: DemoBuild, target: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = duckdb_demo.fsync("check", "--json", "--today", "2026-01-01", *extra, target_path=target)
    return result.exit_code, json.loads(result.stdout)


def test_check_passes_on_the_demo_with_the_committed_lock(duckdb_demo: DemoBuild) -> None:
    code, report = _check(duckdb_demo, duckdb_demo.target_path)
    assert code == 0, report["errors"]
    assert report["errors"] == []
    assert report["checked"]["training_sets"] == 2
    assert report["checked"]["locked_versions"] == 3
    # the only warning: fraud_model still uses the deprecated user_purchase_features v1
    assert [(w["model"], w["key"]) for w in report["warnings"]] == [
        ("user_purchase_features@1", "deprecation_date")
    ]
    assert "fraud_model" in report["warnings"][0]["message"]
    assert "user_purchase_features@2" in report["warnings"][0]["fix"]


def test_check_text_output_exit_code(duckdb_demo: DemoBuild) -> None:
    result = duckdb_demo.fsync("check", "--today", "2027-07-01")
    assert result.exit_code == 0, result.output
    assert "fsync check ok: 0 error(s), 1 warning(s)" in result.stdout
    assert "was deprecated on 2027-06-30 and exposure fraud_model still uses it" in result.stderr


def _set(key: str, value: Any) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        meta = fv_meta(doc, V2)
        if value is None:
            del meta[key]
        else:
            meta[key] = value

    return edit


def _drop_description(doc: dict[str, Any]) -> None:
    node(doc, V2)["columns"]["amount_avg_14d"]["description"] = "  "


@pytest.mark.parametrize(
    ("edit", "key", "message", "fix"),
    [
        (_set("tll", "2d"), "meta.feature_view.tll", "unknown key", "did you mean `ttl`?"),
        (
            _set("owner", None),
            "meta.feature_view.owner",
            "required key is missing",
            "add `owner: team@example.com`",
        ),
        (_set("ttl", "30 days"), "meta.feature_view.ttl", 'is "30 days", not a duration', "e.g. `ttl: 2d`"),
        (
            _set("freshness_sla", "1w"),
            "meta.feature_view.freshness_sla",
            'is "1w", not a duration',
            "e.g. `freshness_sla: 26h`",
        ),
        (
            _drop_description,
            "columns.amount_avg_14d.description",
            "feature column has no description",
            "add `description: ...` to column amount_avg_14d",
        ),
    ],
    ids=["unknown-key", "missing-required-key", "bad-ttl", "bad-sla", "feature-without-description"],
)
def test_bad_metadata_fails_with_model_key_and_fix(
    duckdb_demo: DemoBuild, tmp_path: Path, edit: Any, key: str, message: str, fix: str
) -> None:
    target = duckdb_demo.manifest_copy(tmp_path / "target", edit)
    code, report = _check(duckdb_demo, target, "--no-leakage")
    assert code == 1
    errors = [e for e in report["errors"] if e["key"] == key]
    assert len(errors) == 1, report["errors"]
    error = errors[0]
    assert error["model"] == "user_purchase_features@2"
    assert message in error["message"]
    assert fix in error["fix"]
    assert error["file"] == "models/features/_features.yml"
    # the human output names all three on one line
    text = duckdb_demo.fsync("check", "--no-leakage", target_path=target)
    assert text.exit_code == 1
    assert f"ERROR   user_purchase_features@2: {key}: {message}" in text.stderr


def test_entity_keys_must_be_contract_columns(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    target = duckdb_demo.manifest_copy(tmp_path / "target", _set("entity_keys", ["customer_id"]))
    code, report = _check(duckdb_demo, target, "--no-leakage")
    assert code == 1
    assert [(e["model"], e["key"]) for e in report["errors"]] == [
        ("user_purchase_features@2", "meta.feature_view.entity_keys")
    ]


def _change_sql(doc: dict[str, Any]) -> None:
    n = node(doc, V2)
    n["compiled_code"] = n["compiled_code"].replace("2592000", "2505600", 1)  # the 30d window became 29d


def test_changed_published_version_fails_until_locked(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    target = duckdb_demo.manifest_copy(tmp_path / "target", _change_sql)
    lock = tmp_path / "fstore.lock.json"
    shutil.copy(DEMO_DIR / "fstore.lock.json", lock)

    code, report = _check(duckdb_demo, target, "--no-leakage", "--lock-file", str(lock))
    assert code == 1
    assert [(e["model"], e["key"]) for e in report["errors"]] == [("user_purchase_features@2", "sql")]
    assert "changed in place" in report["errors"][0]["message"]
    assert "add `- v: 3`" in report["errors"][0]["fix"] and "fsync lock" in report["errors"][0]["fix"]

    locked = duckdb_demo.fsync("lock", "--lock-file", str(lock), target_path=target)
    assert locked.exit_code == 0, locked.output
    assert "updated user_purchase_features@2" in locked.stdout
    code, report = _check(duckdb_demo, target, "--no-leakage", "--lock-file", str(lock))
    assert code == 0, report["errors"]
    # the other adapter's fingerprint was kept: the contract did not change
    entry = json.loads(lock.read_text())["views"]["user_purchase_features@2"]
    assert set(entry["sql_sha256"]) == {"duckdb", "postgres"}


def test_layout_comments_and_keyword_case_do_not_count_as_a_change(
    duckdb_demo: DemoBuild, tmp_path: Path
) -> None:
    def edit(doc: dict[str, Any]) -> None:
        n = node(doc, V2)
        sql = n["compiled_code"]
        n["compiled_code"] = "/* reformatted */\n" + sql.replace("select", "SELECT").replace("\n", "\n\n  ")

    target = duckdb_demo.manifest_copy(tmp_path / "target", edit)
    code, report = _check(duckdb_demo, target, "--no-leakage")
    assert code == 0, report["errors"]


def test_changed_contract_fails(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    def edit(doc: dict[str, Any]) -> None:
        node(doc, V2)["columns"]["purchase_count_30d"]["data_type"] = "integer"

    target = duckdb_demo.manifest_copy(tmp_path / "target", edit)
    code, report = _check(duckdb_demo, target, "--no-leakage")
    assert code == 1
    assert [(e["model"], e["key"]) for e in report["errors"]] == [("user_purchase_features@2", "contract")]
    assert "purchase_count_30d: bigint -> integer" in report["errors"][0]["message"]


def test_unlocked_new_version_only_warns(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    lock = tmp_path / "fstore.lock.json"
    doc = json.loads((DEMO_DIR / "fstore.lock.json").read_text())
    del doc["views"]["user_purchase_features@2"]
    lock.write_text(json.dumps(doc))
    code, report = _check(duckdb_demo, duckdb_demo.target_path, "--no-leakage", "--lock-file", str(lock))
    assert code == 0
    assert ("user_purchase_features@2", "lock") in [(w["model"], w["key"]) for w in report["warnings"]]


LEAKY_SQL = """
create table main.leaky_training_example as
select l.user_id, l.label_ts, f.feature_ts as purchase__feature_ts,
  f.purchase_count_30d as purchase__purchase_count_30d
from main.stg_churn_labels as l
left join main.user_purchase_features_v2 as f
  on f.user_id = l.user_id and f.feature_ts > l.label_ts and f.feature_ts <= l.label_ts + interval 1 day
"""


def test_leaky_training_set_fails(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    """A training set joined to feature rows after its labels (built by hand here) fails the leakage check."""
    db = tmp_path / "demo.duckdb"
    shutil.copy(duckdb_demo.duckdb_path, db)
    with duckdb.connect(str(db)) as con:
        con.execute(LEAKY_SQL)

    def edit(doc: dict[str, Any]) -> None:
        training = node(doc, "model.fstore_demo.training_churn")
        leaky = json.loads(json.dumps(training))
        relation = training["relation_name"].replace("training_churn", "leaky_training_example")
        leaky.update(unique_id="model.fstore_demo.leaky_training_example", name="leaky_training_example",
                     alias="leaky_training_example", relation_name=relation)
        leaky["config"]["meta"] = {
            "training_set": {"label_timestamp": "label_ts", "feature_timestamps": ["purchase__feature_ts"]}
        }
        doc["nodes"][leaky["unique_id"]] = leaky

    target = duckdb_demo.manifest_copy(tmp_path / "target", edit)
    code, report = _check(duckdb_demo, target, "--duckdb-path", str(db))
    assert code == 1
    assert [(e["model"], e["key"]) for e in report["errors"]] == [
        ("leaky_training_example", "columns.purchase__feature_ts")
    ]
    assert "leaks:" in report["errors"][0]["message"]
