#!/usr/bin/env python3
"""One entry point for a fresh machine that has nothing but Python 3.11+.

    python3 dev.py demo   # set up .venv, dbt seed + dbt build of examples/demo on DuckDB, print samples, push
                          # the demo as of its last day and read one entity online through a feature service
    python3 dev.py test   # set up .venv, ruff, then the whole test suite (DuckDB, PostgreSQL, Spark, Redis,
                          # Dagster and Airflow)
    python3 dev.py docs   # regenerate docs/cli.md from the commands' --help

Everything else (dbt, DuckDB, the fsync CLI; for `test` also pyspark, dbt-spark, Dagster and Airflow) is
installed into ./.venv from pyproject.toml. Spark needs Java 17 on PATH.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".fstore-installed"
DEMO = ROOT / "examples" / "demo"
DEMO_LAST_DAY = "2024-12-01T12:00:00"  # the demo's spine ends on 2024-12-01


def _run(*cmd: str | Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env)
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_venv(extras: tuple[str, ...] = ("dev",)) -> None:
    """Create .venv and install the project with `extras`; re-install only when pyproject.toml changes or an
    extra is missing (the spark extra's pyspark wheel is large: it is installed once, not on every run)."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = STAMP.read_text().split() if STAMP.exists() else []
    installed = set(stamp[1:]) if stamp and stamp[0] == digest else set()
    if set(extras) <= installed:
        return
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = sorted(installed | set(extras))
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", f".[{','.join(wanted)}]")
    STAMP.write_text(" ".join([digest, *wanted]))


def ensure_profiles() -> None:
    if not (ROOT / "profiles.yml").exists():
        shutil.copy(ROOT / "profiles.example.yml", ROOT / "profiles.yml")
        print("created profiles.yml from profiles.example.yml")


def tool_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DBT_PROFILES_DIR", str(ROOT))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    return env


def demo() -> None:
    ensure_venv()
    ensure_profiles()
    env = tool_env()
    # Run in the demo project, as a user would (`cd examples/demo && dbt build`): dbt opens a relative DuckDB
    # path from its current directory, so the warehouse is examples/demo/fstore.duckdb.
    for step in ("deps", "seed", "build"):
        target = ("--target", "duckdb") if step != "deps" else ()
        _run(BIN / "dbt", step, *target, env=env, cwd=DEMO)
    _run(BIN / "python", DEMO / "scripts" / "show_demo.py", env=env, cwd=DEMO)
    # The whole loop: publish the demo as it stood on its last day, then read it back through a service.
    _run(BIN / "fsync", "push", "--as-of", DEMO_LAST_DAY, env=env, cwd=DEMO)
    _run(BIN / "python", DEMO / "scripts" / "online_demo.py", DEMO_LAST_DAY, env=env, cwd=DEMO)


def test() -> None:
    # Dagster (+ dagster-dbt) and Airflow share .venv: they resolve together without a downgrade, and the
    # Airflow tests run dag.test() in a process of their own (tests/fstore_testing/airflow_dag.py).
    ensure_venv(("dev", "spark", "dagster", "airflow"))
    env = tool_env()
    _run(BIN / "ruff", "check", "fsync", "tests", "bench", "examples", "dev.py", env=env)
    _run(BIN / "lint-imports", env=env)
    _run(BIN / "python", "-m", "pytest", *sys.argv[2:], env=env)


def docs() -> None:
    """Regenerate docs/cli.md from the commands' --help (tests/python/test_docs.py checks it is current)."""
    ensure_venv()
    out = subprocess.run([str(BIN / "python"), "-m", "fsync.cli.reference"], cwd=ROOT, env=tool_env(),
                         capture_output=True, text=True, check=True).stdout
    (ROOT / "docs" / "cli.md").write_text(out)
    print("wrote docs/cli.md")


COMMANDS = {"demo": demo, "test": test, "docs": docs}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]]()
