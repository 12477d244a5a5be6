"""Helpers of the catalog tests: the catalog written from a demo build by the real `fsync catalog` command."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from fstore_testing.dbt import DEMO_DIR
from fsync.cli import main

AS_OF = "2024-12-01T12:00:00"


@dataclass(frozen=True)
class Site:
    out_dir: Path
    target_path: Path
    duckdb_path: Path
    output: str


def run_catalog(
    target_path: Path,
    duckdb_path: Path,
    out_dir: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    as_of: str = AS_OF,
) -> tuple[int, str]:
    """`fsync catalog` with every setting explicit (no fsync.toml / FSYNC_* of the developer)."""
    args = [
        "catalog", "--out", str(out_dir), "--project-dir", str(DEMO_DIR),
        "--target-path", str(target_path), "--duckdb-path", str(duckdb_path),
        "--as-of", as_of, *extra,
    ]
    run_env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("FSYNC_")}
    run_env.update(env or {})
    res = CliRunner().invoke(main, args, env=run_env, catch_exceptions=False)
    return res.exit_code, res.output
