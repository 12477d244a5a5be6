"""dbt's artifacts, read as JSON (dbt itself need not be importable): target/manifest.json and
target/run_results.json with their schema versions checked, and the tests that cover each model. The build
health read from run_results.json is fsync/manifest/health.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fsync.errors import FsyncError

SUPPORTED_MANIFEST = (10, 11, 12)
SUPPORTED_RUN_RESULTS = (5, 6)


def schema_version(doc: dict[str, Any], kind: str, supported: tuple[int, ...], path: Path) -> int:
    metadata = doc.get("metadata")
    url = str(metadata.get("dbt_schema_version", "")) if isinstance(metadata, dict) else ""
    match = re.search(rf"/{kind}/v(\d+)\.json$", url)
    if not match:
        raise FsyncError(f"{path} is not a dbt {kind} artifact (metadata.dbt_schema_version is {url!r}).")
    version = int(match.group(1))
    if version not in supported:
        raise FsyncError(
            f"{path} has {kind} schema v{version}; fsync supports v{', v'.join(map(str, supported))} "
            f"(dbt 1.8-1.11). Rebuild with a supported dbt version."
        )
    return version


def load_json(path: Path) -> dict[str, Any]:
    """A dbt artifact as a JSON object; a missing, unreadable or non-object file is a user error."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise FsyncError(
            f"{path} not found: run `dbt build` (or pass --target-path / --project-dir)."
        ) from None
    except IsADirectoryError:
        raise FsyncError(f"{path} is a directory, not a dbt artifact.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FsyncError(f"{path} is not valid JSON ({str(exc).splitlines()[0]}).") from None
    except OSError as exc:
        raise FsyncError(f"cannot read {path}: {exc.strerror or exc}.") from None
    if not isinstance(doc, dict):
        raise FsyncError(f"{path} is not a dbt artifact (a JSON {type(doc).__name__}, not an object).")
    return doc


def load_manifest_json(target_path: Path) -> dict[str, Any]:
    path = target_path / "manifest.json"
    doc = load_json(path)
    schema_version(doc, "manifest", SUPPORTED_MANIFEST, path)
    return doc


def tests_by_model(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """unique_id of a model -> the data tests and unit tests that cover it."""
    nodes: dict[str, dict[str, Any]] = manifest.get("nodes") or {}
    out: dict[str, list[str]] = {}
    for uid, node in nodes.items():
        if node.get("resource_type") != "test":
            continue
        # dbt leaves attached_node empty for tests of model versions: fall back on the models it depends on.
        targets = (
            [node["attached_node"]]
            if node.get("attached_node")
            else [d for d in (node.get("depends_on") or {}).get("nodes", []) if d.startswith("model.")]
        )
        for target in targets:
            out.setdefault(target, []).append(uid)
    for uid, ut in (manifest.get("unit_tests") or {}).items():
        for dep in (ut.get("depends_on") or {}).get("nodes", []):
            if dep.startswith("model.") and _unit_test_targets(ut, nodes.get(dep, {})):
                out.setdefault(dep, []).append(uid)
    return {k: sorted(v) for k, v in out.items()}


def _unit_test_targets(unit_test: dict[str, Any], model: dict[str, Any]) -> bool:
    """A unit test covers a model version when it names the model and (if versioned) includes that version."""
    if unit_test.get("model") != model.get("name"):
        return False
    versions = unit_test.get("versions") or {}
    version = model.get("version")
    if version is None or not versions:
        return True
    include, exclude = versions.get("include"), versions.get("exclude") or []
    if include is not None and version not in include and str(version) not in map(str, include):
        return False
    return str(version) not in map(str, exclude)
