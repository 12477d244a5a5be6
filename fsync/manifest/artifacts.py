"""dbt's artifacts, read as JSON (dbt itself need not be importable): target/manifest.json and
target/run_results.json, with their schema versions checked, and the build health of each node."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsync.errors import FsyncError

SUPPORTED_MANIFEST = (10, 11, 12)
SUPPORTED_RUN_RESULTS = (5, 6)


def _schema_version(doc: dict[str, Any], kind: str, supported: tuple[int, ...], path: Path) -> int:
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
    _schema_version(doc, "manifest", SUPPORTED_MANIFEST, path)
    return doc


# The dbt commands (run_results.json `args.which`) whose results say whether a model was built and tested.
# Every other command (compile, docs generate, show, ls, parse, run-operation, seed, ...) rewrites
# run_results.json too, with its own results (a compiled model is `success`): health never comes from it.
BUILDING_COMMANDS = ("build", "run", "test", "retry")


@dataclass
class BuildHealth:
    """Whether each node's latest build and tests passed, from the run_results.json of the dbt invocation
    that built and tested it."""

    found: bool = False
    status: dict[str, str] = field(default_factory=dict)  # unique_id -> status in run_results.json
    command: str | None = None  # args.which of the invocation that wrote run_results.json
    path: str = "run_results.json"

    def reason(self, unique_id: str, test_ids: tuple[str, ...]) -> str | None:
        """Why the model must not be published (its latest build or tests failed or never ran), or None."""
        if not self.found:
            return "no run_results.json: run `dbt build` before pushing"
        if self.command not in BUILDING_COMMANDS:
            command = (
                f"`dbt {self.command}`" if self.command else "a dbt command it does not name (args.which)"
            )
            return (
                f"{self.path} was written by {command}, which neither builds nor tests models, so the results"
                " of the last build are gone; run `dbt build` last before pushing (run `dbt compile` or"
                " `dbt docs generate` before it, or with --target-path elsewhere)"
            )
        status = self.status.get(unique_id)
        if status is None:
            return "its model never ran in the latest dbt invocation (run `dbt build`)"
        if status != "success":
            return f"its latest build has status {status!r}"
        bad = []
        for test_id in test_ids:
            t = self.status.get(test_id)
            if t is None:
                bad.append(f"{_short(test_id)} never ran")
            elif t not in ("pass", "warn", "success"):
                bad.append(f"{_short(test_id)} {t}")
        if bad:
            return "its tests did not pass: " + "; ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
        return None


def _short(unique_id: str) -> str:
    return unique_id.split(".", 2)[-1]


def load_build_health(target_path: Path) -> BuildHealth:
    path = target_path / "run_results.json"
    if not path.exists():
        return BuildHealth()
    doc = load_json(path)
    _schema_version(doc, "run-results", SUPPORTED_RUN_RESULTS, path)
    results = doc.get("results")
    if not isinstance(results, list):
        raise FsyncError(f"{path} has no list of results; rerun `dbt build`.")
    args = doc.get("args")
    which = args.get("which") if isinstance(args, dict) else None
    return BuildHealth(
        found=True,
        status={str(r.get("unique_id")): str(r.get("status")) for r in results if isinstance(r, dict)},
        command=str(which) if which else None,
        path=str(path),
    )


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
