"""The demo project (examples/demo) built once per engine and test session; the fsync CLI run on it."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from fstore_testing.engines import Engine, ProjectBuild
from fsync.cli import main


@dataclass(frozen=True)
class DemoBuild:
    """`dbt seed` + `dbt build` of examples/demo on one engine, with its run results."""

    build: ProjectBuild
    results: tuple[dict[str, Any], ...]

    @property
    def engine(self) -> str:
        return self.build.engine

    @property
    def project_dir(self) -> Path:
        return self.build.project_dir

    @property
    def target_path(self) -> Path:
        return self.build.target_path

    @property
    def duckdb_path(self) -> Path:
        return self.build.duckdb_path

    @property
    def profiles_dir(self) -> Path:
        return self.build.dbt.profiles_dir

    @property
    def schema(self) -> str:
        return self.build.schema

    def fsync_env(self) -> dict[str, str]:
        """The environment fsync runs in: the profile's FSTORE_* settings, no FSYNC_* of the developer."""
        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("FSYNC_")}
        env.update(self.build.env)
        env["DBT_PROFILES_DIR"] = str(self.build.dbt.profiles_dir)
        env["FSYNC_PROJECT_DIR"] = str(self.project_dir)
        env["FSYNC_TARGET_PATH"] = str(self.target_path)
        if self.engine == "duckdb":
            env["FSYNC_DUCKDB_PATH"] = str(self.duckdb_path)
        elif self.engine == "spark":
            raise NotImplementedError("fsync does not read a Spark build yet (issue 11, fsync part)")
        else:
            pg = self.build.warehouse.pg
            env["FSYNC_WAREHOUSE"] = "postgres"
            env["FSYNC_POSTGRES_DSN"] = (
                f"host={pg.host} port={pg.port} user={pg.user} dbname={pg.database}"
                + (f" password={pg.password}" if pg.password else "")
            )
        return env  # type: ignore[return-value]

    def fsync(self, *args: str, target_path: Path | None = None, env: dict[str, str] | None = None) -> Result:
        """Run the fsync CLI in-process on this build (the demo's committed lock file by default)."""
        run_env = {**self.fsync_env(), **(env or {})}
        if target_path is not None:
            run_env["FSYNC_TARGET_PATH"] = str(target_path)
        return CliRunner().invoke(main, list(args), env=run_env, catch_exceptions=False)

    def manifest_copy(self, dest: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
        """A copy of the build's target dir whose manifest.json went through `edit`."""
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("manifest.json", "run_results.json"):
            shutil.copy(self.target_path / name, dest / name)
        doc = json.loads((dest / "manifest.json").read_text())
        edit(doc)
        (dest / "manifest.json").write_text(json.dumps(doc))
        return dest


def build_demo(engine: Engine) -> DemoBuild:
    demo = engine.demo
    demo.dbt.ok("seed", "--full-refresh")
    results = demo.dbt.ok("build").run_results()["results"]
    return DemoBuild(build=demo, results=tuple(results))


def node(doc: dict[str, Any], unique_id: str) -> dict[str, Any]:
    return doc["nodes"][unique_id]


def fv_meta(doc: dict[str, Any], unique_id: str) -> dict[str, Any]:
    """A model's meta.feature_view in a manifest, made editable (config.meta and meta become one dict)."""
    n = node(doc, unique_id)
    meta = json.loads(json.dumps(n["config"]["meta"]["feature_view"]))
    n["config"]["meta"]["feature_view"] = meta
    n["meta"] = n["config"]["meta"]
    return meta
