"""Helpers of the catalog tests (importable by test modules; fixtures live in conftest.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner
from dbt_runner import PROJECT_DIR

from fsync.cli import main

AS_OF = "2024-12-01T12:00:00"


@dataclass(frozen=True)
class DemoBuild:
    target_path: Path
    duckdb_path: Path


@dataclass(frozen=True)
class Site:
    out_dir: Path
    build: DemoBuild
    output: str


def run_catalog(build: DemoBuild, out_dir: Path, *extra: str) -> tuple[int, str]:
    """`fsync catalog` with every setting explicit (no fsync.toml / FSYNC_* of the developer)."""
    args = [
        "catalog", "--out", str(out_dir), "--project-dir", str(PROJECT_DIR),
        "--target-path", str(build.target_path), "--duckdb-path", str(build.duckdb_path),
        "--as-of", AS_OF, *extra,
    ]
    res = CliRunner().invoke(main, args, env={k: None for k in _fsync_env()}, catch_exceptions=False)
    return res.exit_code, res.output


def _fsync_env() -> list[str]:
    return [k for k in os.environ if k.startswith("FSYNC_")]
