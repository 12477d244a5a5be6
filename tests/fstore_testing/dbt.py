"""Run the real dbt CLI on fstore's dbt projects, isolated from the developer's profiles, target and logs.

The package (repository root) is installed, like a user installs it, by two projects: integration_tests/
(macro unit tests, reference models) and examples/demo/ (the e-commerce demo)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = ROOT
INTEGRATION_DIR = ROOT / "integration_tests"
DEMO_DIR = ROOT / "examples" / "demo"
ENGINES = ("duckdb", "postgres", "spark")
TAIL_LINES = 80


def dbt_executable() -> Path:
    """The dbt installed next to the running interpreter (the project's .venv), not whatever is on PATH."""
    candidate = Path(sys.executable).parent / ("dbt.exe" if os.name == "nt" else "dbt")
    if not candidate.exists():
        raise RuntimeError(f"no dbt next to {sys.executable}: run `pip install -e .[dev]`")
    return candidate


@dataclass(frozen=True)
class PgSettings:
    host: str
    port: int
    user: str
    password: str
    database: str

    @classmethod
    def from_env(cls) -> PgSettings:
        return cls(
            host=os.environ.get("FSTORE_PG_HOST", "127.0.0.1"),
            port=int(os.environ.get("FSTORE_PG_PORT", "5432")),
            user=os.environ.get("FSTORE_PG_USER", "postgres"),
            password=os.environ.get("FSTORE_PG_PASSWORD", ""),
            database=os.environ.get("FSTORE_PG_DATABASE", "test"),
        )

    def connect(self) -> Any:
        return psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password,
            dbname=self.database, connect_timeout=5,
        )

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database}"


@dataclass
class DbtResult:
    args: list[str]
    returncode: int
    output: str
    target_path: Path

    def tail(self, lines: int = TAIL_LINES) -> str:
        return "\n".join(self.output.splitlines()[-lines:])

    def run_results(self) -> dict[str, Any]:
        return json.loads((self.target_path / "run_results.json").read_text())


@dataclass
class DbtRunner:
    """dbt bound to one target (engine) with its own profiles dir, target path and log path."""

    project_dir: Path
    target: str
    profiles_dir: Path
    target_path: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, dbt_vars: dict[str, Any] | None = None) -> DbtResult:
        cmd = [
            str(dbt_executable()), *args,
            "--target", self.target,
            "--profiles-dir", str(self.profiles_dir),
            "--project-dir", str(self.project_dir),
            "--target-path", str(self.target_path),
            "--log-path", str(self.log_path),
        ]
        if dbt_vars:
            cmd += ["--vars", json.dumps(dbt_vars)]
        env = {**os.environ, **self.env}
        proc = subprocess.run(
            cmd, cwd=self.project_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        return DbtResult(cmd, proc.returncode, proc.stdout, self.target_path)

    def ok(self, *args: str, dbt_vars: dict[str, Any] | None = None) -> DbtResult:
        """Run dbt and fail the test with the tail of dbt's output if it does not succeed."""
        result = self.run(*args, dbt_vars=dbt_vars)
        assert result.returncode == 0, (
            f"`dbt {' '.join(args)}` on target {self.target} exited with {result.returncode}; "
            f"last {TAIL_LINES} lines of output:\n{result.tail()}"
        )
        return result


def write_profiles(profiles_dir: Path) -> None:
    """The test profile is profiles.example.yml itself: every per-session setting comes from env vars."""
    profiles_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "profiles.example.yml", profiles_dir / "profiles.yml")


def drop_schemas(pg: PgSettings, prefix: str) -> None:
    """Drop the session schema and every schema dbt derived from it (`<schema>_<custom>`)."""
    conn = pg.connect()
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "select nspname from pg_namespace where nspname = %s or nspname like %s",
                (prefix, prefix.replace("_", r"\_") + r"\_%"),
            )
            for (name,) in cur.fetchall():
                cur.execute(f'drop schema if exists "{name}" cascade')
    finally:
        conn.close()


_DEPS_DONE: set[Path] = set()


def install_package(project_dir: Path) -> None:
    """`dbt deps` once per project and test session: links the local fstore package into dbt_packages/."""
    if project_dir in _DEPS_DONE:
        return
    proc = subprocess.run(
        [str(dbt_executable()), "deps", "--project-dir", str(project_dir)],
        cwd=project_dir, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert proc.returncode == 0, f"dbt deps failed in {project_dir}:\n{proc.stdout[-4000:]}"
    _DEPS_DONE.add(project_dir)
