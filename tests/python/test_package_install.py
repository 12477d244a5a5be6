"""Another dbt project installs fstore as a package (packages.yml `local:`) and calls its macros."""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
from dbt_runner import PROJECT_DIR, dbt_executable

CONSUMER_FILES = {
    "dbt_project.yml": """
name: consumer
version: "1.0.0"
config-version: 2
profile: consumer
models:
  fstore:
    +enabled: false   # fstore's own demo and test models stay out of the consumer's warehouse
seeds:
  fstore:
    +enabled: false
exposures:
  fstore:
    +enabled: false
""",
    "packages.yml": f"packages:\n  - local: {PROJECT_DIR}\n",
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
    "models/customer_features.sql": """
with orders as (
    select customer_id, {{ fstore.to_utc('ordered_at', 'Europe/Berlin') }} as event_ts, total
    from {{ ref('orders') }}
),
spine as (
    {{ fstore.feature_spine(ref('orders'), ['customer_id'], "'2024-01-02'", "'2024-01-03'") }}
)
select * from (
    {{ fstore.rolling_agg(spine='spine', events='orders', entity_keys=['customer_id'],
                          aggregations=[{'name': 'order_total', 'agg': 'sum', 'column': 'total'}],
                          windows=['2d']) }}
) as f
""",
}


def test_consumer_project_calls_fstore_macros(tmp_path: Path) -> None:
    project = tmp_path / "consumer"
    for name, text in CONSUMER_FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    db = tmp_path / "consumer.duckdb"
    env_cmd = {"CONSUMER_DUCKDB": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PATH": "/usr/bin:/bin"}
    for args in (["deps"], ["build"]):
        proc = subprocess.run(
            [str(dbt_executable()), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
            cwd=project, env=env_cmd, capture_output=True, text=True,
        )
        assert proc.returncode == 0, f"dbt {args[0]} failed in the consumer project:\n{proc.stdout[-4000:]}"

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select customer_id, feature_ts, order_total_2d from customer_features order by feature_ts"
        ).fetchall()
        tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    # 2024-01-02 02:00 Berlin is 01:00Z: inside [01-01, 01-03) for the second spine row only.
    assert [(r[0], r[1].isoformat(), float(r[2])) for r in rows] == [
        (1, "2024-01-02T00:00:00", 5.0),
        (1, "2024-01-03T00:00:00", 12.0),
    ]
    assert not any(t.startswith(("mt_", "stg_", "user_", "training_")) for t in tables), tables
