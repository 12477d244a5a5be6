"""`--json` is strict JSON on every command: values that JSON has no literal for (NaN, Infinity) are strings,
decimals are exact strings, timestamps ISO; on exit 2/3 (and on a usage error) stdout is one JSON error
object."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest
from fstore_testing.artifacts import fv_meta, write_artifacts
from fstore_testing.cli import fsync

T = "2024-06-01T00:00:00"
COMMANDS = [
    ["push", "--as-of", T],
    ["push", "--dry-run", "--as-of", T],
    ["get", "fv", "1", "--as-of", T],
    ["views"],
    ["features", "list"],
    ["features", "show", "fv"],
    ["features", "search", "fv"],
    ["impact", "fv"],
    ["lock"],
    ["check", "--no-leakage"],
    ["catalog", "--out", "site", "--no-profile", "--as-of", T],
    ["training-set", "--labels", "main.fv", "--features", "fv:f_float", "--print-sql"],
]


def _strict(text: str) -> object:
    def no_constant(name: str) -> object:
        raise AssertionError(f"bare {name} in --json output")

    return json.loads(text, parse_constant=no_constant)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute(
        "create table main.fv as select 1 as user_id, timestamp '2024-05-31 12:00' as feature_ts,"
        " 'NaN'::double as f_float, 'Infinity'::double as f_inf, 12.3400::decimal(8,4) as f_dec,"
        " timestamp '2024-01-02 03:04:05.000006' as f_ts"
    )
    con.close()
    columns = {
        "user_id": "integer",
        "feature_ts": "timestamp",
        "f_float": "double",
        "f_inf": "double",
        "f_dec": "decimal(8,4)",
        "f_ts": "timestamp",
    }
    write_artifacts(tmp_path / "target", [{"name": "fv", "meta": fv_meta(), "columns": columns}])
    doc = json.loads((tmp_path / "target" / "manifest.json").read_text())
    for node in doc["nodes"].values():
        node["compiled_code"] = "select 1"
    (tmp_path / "target" / "manifest.json").write_text(json.dumps(doc))
    return {
        "FSYNC_PROJECT_DIR": str(tmp_path),
        "FSYNC_DUCKDB_PATH": str(db),
        "FSYNC_TARGET_PATH": "target",
        "FSYNC_SQLITE_PATH": str(tmp_path / "o.sqlite"),
        "FSYNC_STORE": "sqlite",
    }


def test_every_command_prints_strict_json(env: dict[str, str], tmp_path: Path) -> None:
    assert fsync(env, "push", "--as-of", T).exit_code == 0
    for args in COMMANDS:
        if args[0] == "training-set":
            continue  # compiles with dbt (needs a profile): its JSON is tested on the demo build
        if args[0] == "catalog":
            args = [*args[:2], str(tmp_path / "site"), *args[3:]]
        res = fsync(env, *args, "--json")
        assert res.exit_code in (0, 1), (args, res.output)
        _strict(res.stdout)
    got = _strict(fsync(env, "get", "fv", "1", "--as-of", T, "--json").stdout)
    assert isinstance(got, dict)
    values = got["entities"][0]["values"]
    assert values["f_float"] == "NaN" and values["f_inf"] == "Infinity"
    assert values["f_dec"] == "12.3400" and values["f_ts"] == "2024-01-02T03:04:05.000006"
    assert not math.isnan(0.0)


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_errors_are_json_objects(env: dict[str, str], tmp_path: Path, args: list[str]) -> None:
    if args[0] == "catalog":
        args = [*args[:2], str(tmp_path / "site"), *args[3:]]
    (tmp_path / "target" / "manifest.json").write_text("[]")  # exit 2: not a dbt artifact
    res = fsync(env, *args, "--json")
    assert res.exit_code == 2, res.output
    error = _strict(res.stdout)
    assert isinstance(error, dict) and error["error"]["exit_code"] == 2
    assert "is not a dbt artifact" in error["error"]["message"]
    usage = fsync(env, *args, "--no-such-option", "--json")
    assert usage.exit_code == 2 and _strict(usage.stdout)["error"]["kind"] == "usage_error"  # type: ignore[index]
    down = fsync(
        {**env, "FSYNC_STORE": "redis", "FSYNC_REDIS_URL": "redis://127.0.0.1:1/0", "FSYNC_RETRIES": "0"},
        "push",
        "--as-of",
        T,
        "--json",
    )
    assert down.exit_code in (2, 3) and "error" in _strict(down.stdout)  # type: ignore[operator]
