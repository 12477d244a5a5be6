"""A user's dbt project installs fstore with nothing but packages.yml and gets only the macros and generic
tests: zero lines of config, even when its own models are named exactly like the demo's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import duckdb
from fstore_testing.dbt import PACKAGE_DIR, dbt_executable

CONSUMER_FILES = {
    "dbt_project.yml": """
name: consumer
version: "1.0.0"
config-version: 2
profile: consumer
""",
    "packages.yml": f"packages:\n  - local: {PACKAGE_DIR}\n",
    "profiles.yml": """
consumer:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('CONSUMER_DUCKDB') }}"
      settings: {TimeZone: UTC}
""",
    "seeds/orders.csv": (
        "customer_id,ordered_at,total\n1,2024-01-01T10:00:00Z,5.00\n1,2024-01-02 02:00:00,7.00\n"
    ),
    # The demo's model names, with other columns: nothing of the package may attach to them.
    "models/stg_purchases.sql": """
select customer_id, {{ fstore.to_utc('ordered_at', 'Europe/Berlin') }} as event_ts, total
from {{ ref('orders') }}
""",
    "models/stg_users.sql": "select distinct customer_id from {{ ref('orders') }}\n",
    "models/user_purchase_features.sql": """
with spine as (
    {{ fstore.feature_spine(ref('stg_users'), ['customer_id'], "'2024-01-02'", "'2024-01-03'") }}
)
select * from (
    {{ fstore.rolling_agg(spine='spine', events=ref('stg_purchases'), entity_keys=['customer_id'],
                          aggregations=[{'name': 'order_total', 'agg': 'sum', 'column': 'total'}],
                          windows=['2d']) }}
) as f
""",
    "models/training_churn.sql": "select customer_id, feature_ts from {{ ref('user_purchase_features') }}\n",
    "models/schema.yml": """
version: 2
models:
  - name: user_purchase_features
    data_tests:
      - fstore.unique_combination:
          arguments: {columns: [customer_id, feature_ts]}
    columns:
      - name: feature_ts
        data_tests: [fstore.is_utc_timestamp]
""",
}


def _dbt(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(dbt_executable()), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project, env=env, capture_output=True, text=True,
    )


def test_consumer_with_the_demos_model_names_and_zero_config(tmp_path: Path) -> None:
    project = tmp_path / "consumer"
    for name, text in CONSUMER_FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    db = tmp_path / "consumer.duckdb"
    env = {"CONSUMER_DUCKDB": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PATH": "/usr/bin:/bin"}
    for args in (["deps"], ["build"]):
        proc = _dbt(project, env, *args)
        assert proc.returncode == 0, f"dbt {args[0]} failed in the consumer project:\n{proc.stdout[-4000:]}"

    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    built = sorted(r["unique_id"] for r in results)
    hook = "operation.fstore.fstore-on-run-start-0"  # the package's validate_feature_views hook
    foreign = [uid for uid in built if ".consumer." not in uid and uid != hook]
    assert not foreign, f"dbt build ran nodes that are not the consumer's: {foreign}"
    assert [uid for uid in built if uid.startswith(("model.", "seed."))] == sorted([
        "model.consumer.stg_purchases", "model.consumer.stg_users", "model.consumer.training_churn",
        "model.consumer.user_purchase_features", "seed.consumer.orders",
    ]), built
    assert sum(uid.startswith("test.consumer.") for uid in built) == 2, built
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    from_package = [
        uid for section in ("nodes", "exposures", "unit_tests", "sources")
        for uid, node in (manifest.get(section) or {}).items()
        if node.get("package_name") == "fstore" and node.get("resource_type") != "operation"
    ]
    assert not from_package, f"the package brought nodes into the consumer project: {from_package}"

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select customer_id, feature_ts, order_total_2d from user_purchase_features order by feature_ts"
        ).fetchall()
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    # 2024-01-02 02:00 Berlin is 01:00Z: inside [01-01, 01-03) for the second spine row only.
    assert [(r[0], r[1].isoformat(), float(r[2])) for r in rows] == [
        (1, "2024-01-02T00:00:00", 5.0),
        (1, "2024-01-03T00:00:00", 12.0),
    ]
    assert tables == {
        "orders", "stg_purchases", "stg_users", "user_purchase_features", "training_churn"
    }, tables
