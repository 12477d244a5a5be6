"""One way to name a view version: every command takes the same spellings (name, name@N, name@vN, name.vN, the
relation name name_vN), prints the canonical `name@N`, and suggests the closest name on a typo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fstore_testing.demo import DemoBuild
from fstore_testing.stores import store_settings

from fsync.errors import FsyncError
from fsync.manifest.names import parse_feature_ref, parse_view_ref

SPELLINGS = [
    "user_purchase_features@2",
    "user_purchase_features@v2",
    "user_purchase_features.v2",
    "user_purchase_features_v2",
]
AS_OF = "2024-06-15T12:00:00"


@pytest.mark.parametrize(
    ("text", "name", "version"),
    [
        ("a", "a", None),
        ("a@2", "a", 2),
        ("a@v12", "a", 12),
        ("a.v3", "a", 3),
        ("a.b.v3", "a.b", 3),
        ("a.vx", "a.vx", None),
    ],
)
def test_parse_view_ref(text: str, name: str, version: int | None) -> None:
    ref = parse_view_ref(text)
    assert (ref.name, ref.version) == (name, version)


@pytest.mark.parametrize("text", ["a@", "a@x", "@2", " "])
def test_bad_view_refs(text: str) -> None:
    with pytest.raises(FsyncError):
        parse_view_ref(text)


def test_feature_refs_use_a_colon_and_a_dotted_feature_gets_a_hint() -> None:
    ref = parse_feature_ref("user_purchase_features@2:amount_sum_30d")
    assert (ref.view.display, ref.feature, ref.display) == (
        "user_purchase_features@2",
        "amount_sum_30d",
        "user_purchase_features@2:amount_sum_30d",
    )
    with pytest.raises(FsyncError, match="did you mean user_purchase_features@2:amount_sum_30d"):
        parse_feature_ref("user_purchase_features.amount_sum_30d@2")


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_command_takes_every_spelling(duckdb_demo: DemoBuild, spelling: str, tmp_path: Path) -> None:
    shown = duckdb_demo.fsync("features", "show", spelling, "--json")
    assert shown.exit_code == 0, shown.output
    assert [v["view"] for v in json.loads(shown.stdout)] == ["user_purchase_features@2"]

    store = store_settings("sqlite", "", tmp_path)
    pushed = duckdb_demo.fsync("push", "--select", spelling, "--as-of", AS_OF, "--json", env=store)
    assert pushed.exit_code == 0, pushed.output
    assert [v["view"] for v in json.loads(pushed.stdout)["views"]] == ["user_purchase_features@2"]

    got = duckdb_demo.fsync("get", spelling, "1150", "--as-of", AS_OF, "--json", env=store)
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["view"] == "user_purchase_features@2"

    impact = duckdb_demo.fsync("impact", f"{spelling}:amount_sum_30d", "--json")
    assert impact.exit_code == 0, impact.output
    assert json.loads(impact.stdout)["nodes"] == ["user_purchase_features@2"]

    lock = tmp_path / "fstore.lock.json"
    locked = duckdb_demo.fsync("lock", spelling, "--lock-file", str(lock), "--json")
    assert locked.exit_code == 0, locked.output
    assert list(json.loads(lock.read_text())["views"]) == ["user_purchase_features@2"]

    features = f"{spelling}:purchase_count_30d"
    sql = duckdb_demo.fsync(
        "training-set", "--labels", "stg_churn_labels", "--features", features, "--print-sql"
    )
    assert sql.exit_code == 0, sql.output


@pytest.mark.parametrize(
    "args",
    [
        ["features", "show", "user_purchse_features@2"],
        ["impact", "user_purchse_features"],
        ["push", "--select", "user_purchse_features", "--dry-run"],
        ["get", "user_purchse_features", "1150"],
        ["lock", "user_purchse_features@2", "--lock-file", "{tmp}/lock.json"],
    ],
)
def test_a_typo_suggests_the_closest_name(duckdb_demo: DemoBuild, args: list[str], tmp_path: Path) -> None:
    result = duckdb_demo.fsync(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == 2, result.output
    assert "no feature view named" in result.stderr
    assert "Did you mean 'user_purchase_features'?" in result.stderr
    assert "Traceback" not in result.output
