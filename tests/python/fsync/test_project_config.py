"""fsync finds the warehouse the way dbt does: the project's profile and target (--profiles-dir, --target,
DBT_PROFILES_DIR, DBT_TARGET, DBT_TARGET_PATH, the target the manifest was built with), with env_var()
rendered as dbt renders it. Passwords in the profile are never printed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fstore_testing.cli import fsync
from fstore_testing.dbt import PACKAGE_DIR, dbt_executable

from fsync.errors import FsyncError
from fsync.project import load_project, load_warehouse_target
from fsync.settings import load_settings

PROFILES = """
consumer:
  target: "{{ env_var('CONSUMER_TARGET', 'dev') }}"
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('CONSUMER_DIR') }}/consumer.duckdb"
      threads: "{{ env_var('CONSUMER_THREADS', '2') | as_number }}"
      settings: {TimeZone: UTC}
    other:
      type: duckdb
      path: other.duckdb
    pg:
      type: postgres
      host: 127.0.0.1
      port: "{{ env_var('CONSUMER_PG_PORT', '1') | as_number }}"
      user: postgres
      password: "{{ env_var('CONSUMER_PG_PASSWORD', 'pa ss w0rd-s3cret') }}"
      dbname: test
      schema: consumer
"""
SCHEMA = """
version: 2
models:
  - name: user_features
    config:
      contract: {enforced: true}
      meta:
        feature_view: {entity_keys: [user_id], timestamp: feature_ts, ttl: 2d, freshness_sla: 1d,
                       owner: me@example.com, online: true}
    columns:
      - {name: user_id, data_type: integer, description: key}
      - {name: feature_ts, data_type: timestamp, description: ts}
      - {name: n, data_type: integer, description: a feature}
"""


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("consumer_config")
    project = root / "consumer"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: consumer\nversion: '1.0.0'\nconfig-version: 2\nprofile: consumer\ntarget-path: build\n"
    )
    (project / "packages.yml").write_text(f"packages:\n  - local: {PACKAGE_DIR}\n")
    (project / "profiles.yml").write_text(PROFILES)
    (project / "models" / "user_features.sql").write_text(
        "select 1 as user_id, cast('2024-06-01' as timestamp) as feature_ts, 7 as n\n"
    )
    (project / "models" / "schema.yml").write_text(SCHEMA)
    env = {"CONSUMER_DIR": str(project), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PATH": "/usr/bin:/bin"}
    for args in (["deps"], ["build"]):
        proc = subprocess.run(
            [str(dbt_executable()), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stdout[-3000:]
    assert (project / "consumer.duckdb").exists() and (project / "build" / "manifest.json").exists()
    return project


def _env(project: Path, **extra: str) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        "FSYNC_PROJECT_DIR": str(project),
        "CONSUMER_DIR": str(project),
        "DBT_PROFILES_DIR": str(project),
        "FSYNC_STORE": "sqlite",
        "FSYNC_SQLITE_PATH": str(project / "online.sqlite"),
        "FSYNC_DUCKDB_PATH": None,
        "FSYNC_TARGET_PATH": None,
        "FSYNC_WAREHOUSE": None,
        "DBT_TARGET": None,
        "DBT_TARGET_PATH": None,
        "FSYNC_POSTGRES_DSN": None,
    }
    env.update(extra)
    return env


def test_push_reads_the_warehouse_the_profile_names(consumer: Path) -> None:
    # target-path from dbt_project.yml, profiles.yml from DBT_PROFILES_DIR, the path rendered from env_var()
    res = fsync(_env(consumer), "push", "--as-of", "2024-06-01T12:00:00", "--json")  # type: ignore[arg-type]
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["views"][0]["rows"] == 1


def test_target_flag_and_env_choose_another_output(consumer: Path) -> None:
    for args, extra in ((["--target", "other"], {}), ([], {"DBT_TARGET": "other"})):
        res = fsync(_env(consumer, **extra), "push", "--dry-run", *args)  # type: ignore[arg-type]
        assert res.exit_code == 2, res.output
        # a relative path is relative to the current directory, as dbt opens it
        assert f"DuckDB warehouse file {Path.cwd() / 'other.duckdb'} does not exist" in res.stderr
    res = fsync(_env(consumer), "push", "--target", "nope")  # type: ignore[arg-type]
    assert res.exit_code == 2 and "has no target 'nope'; its targets: dev, other, pg" in res.stderr


def test_dbt_target_path_env_is_honoured(consumer: Path) -> None:
    res = fsync(_env(consumer, DBT_TARGET_PATH="elsewhere"), "views")  # type: ignore[arg-type]
    assert res.exit_code == 2 and f"{consumer / 'elsewhere' / 'manifest.json'} not found" in res.stderr


def test_a_profile_password_is_never_printed(consumer: Path) -> None:
    """The pg target (port 1: nothing listens) fails as an outage, naming the server but not the password."""
    res = fsync(_env(consumer), "push", "--target", "pg", "--warehouse", "postgres")  # type: ignore[arg-type]
    assert res.exit_code == 3, res.output
    assert "PostgreSQL is unavailable" in res.stderr and "password=***" in res.stderr
    assert "s3cret" not in res.output and "pa ss" not in res.output
    res = fsync(_env(consumer), "push", "--target", "pg", "--warehouse", "postgres", "--json")  # type: ignore[arg-type]
    assert json.loads(res.stdout)["error"]["exit_code"] == 3 and "s3cret" not in res.stdout


def test_rendering_as_dbt_does(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: p\nprofile: consumer\n")
    (tmp_path / "profiles.yml").write_text(PROFILES)
    settings = load_settings({"project_dir": str(tmp_path), "profiles_dir": str(tmp_path)}, env={})
    project = load_project(settings, env={})
    with pytest.raises(FsyncError, match="env var 'CONSUMER_DIR' is required by the dbt profile but not set"):
        load_warehouse_target(settings, project, env={})
    target = load_warehouse_target(settings, project, env={"CONSUMER_DIR": "/data", "CONSUMER_THREADS": "4"})
    assert target.type == "duckdb" and target.fields["threads"] == 4
    assert target.duckdb_path() == Path("/data/consumer.duckdb")
    pg = load_warehouse_target(settings, project, env={"CONSUMER_TARGET": "pg", "CONSUMER_PG_PORT": "5433"})
    assert pg.fields["port"] == 5433
    assert pg.postgres_dsn() == (
        "host=127.0.0.1 port=5433 user=postgres password='pa ss w0rd-s3cret' dbname=test"
    )
    assert "s3cret" not in pg.describe() and "s3cret" not in repr(pg)
