"""Helpers of the registry tests (importable; test modules never import conftest)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from dbt_runner import PROJECT_DIR

from fsync.cli import main


@dataclass(frozen=True)
class Demo:
    root: Path
    target_path: Path
    duckdb_path: Path
    profiles_dir: Path
    env: dict[str, str]
    schema: str = "main"

    def fsync(self, *args: str, target_path: Path | None = None) -> Result:
        """Run the fsync CLI in-process on the demo build (the project's committed lock file by default)."""
        argv = [
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(target_path or self.target_path),
            "--duckdb-path",
            str(self.duckdb_path),
        ]
        return CliRunner().invoke(main, argv, env=self.env, catch_exceptions=False)

    def manifest_copy(self, dest: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
        """A copy of the demo's target dir whose manifest.json went through `edit`."""
        dest.mkdir(parents=True, exist_ok=True)
        for name in ("manifest.json", "run_results.json"):
            shutil.copy(self.target_path / name, dest / name)
        doc = json.loads((dest / "manifest.json").read_text())
        edit(doc)
        (dest / "manifest.json").write_text(json.dumps(doc))
        return dest


def node(doc: dict[str, Any], unique_id: str) -> dict[str, Any]:
    return doc["nodes"][unique_id]


def fv_meta(doc: dict[str, Any], unique_id: str) -> dict[str, Any]:
    """A model's meta.feature_view in a manifest, made editable (config.meta and meta become one dict)."""
    n = node(doc, unique_id)
    meta = json.loads(json.dumps(n["config"]["meta"]["feature_view"]))
    n["config"]["meta"]["feature_view"] = meta
    n["meta"] = n["config"]["meta"]
    return meta
