"""Typed reader of dbt's target/manifest.json and target/run_results.json (dbt itself need not be importable).

It finds the published feature views (models whose config meta holds `feature_view`), their relations,
versions, keys, timestamps, TTL and contract, and the status of their latest build and tests.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fsync.errors import CheckFailed, FsyncError
from fsync.timeutil import parse_duration

SUPPORTED_MANIFEST = (10, 11, 12)
SUPPORTED_RUN_RESULTS = (5, 6)
META_FIELDS = frozenset(
    {
        "entity_keys",
        "timestamp",
        "created_timestamp",
        "ttl",
        "freshness_sla",
        "owner",
        "online",
        "tags",
        "description",
    }
)


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str | None


@dataclass(frozen=True)
class FeatureView:
    unique_id: str
    name: str
    version: int | None
    latest_version: int | None
    schema: str
    alias: str
    database: str | None
    entity_keys: tuple[str, ...]
    timestamp: str
    created_timestamp: str | None
    ttl_seconds: int
    online: bool
    contract_enforced: bool
    columns: tuple[Column, ...]
    test_ids: tuple[str, ...] = ()
    problem: str | None = None  # why the meta is unusable; reported when the view is selected

    @property
    def id(self) -> str:
        """`name` for an unversioned model, `name.v<N>` for a version."""
        return self.name if self.version is None else f"{self.name}.v{self.version}"

    @property
    def store_id(self) -> str:
        """The view's name in the online store: versions live side by side."""
        return f"{self.name}:v{self.version}" if self.version is not None else f"{self.name}:_"

    @property
    def system_columns(self) -> tuple[str, ...]:
        return (
            self.entity_keys
            + (self.timestamp,)
            + ((self.created_timestamp,) if self.created_timestamp else ())
        )


@dataclass
class Registry:
    views: list[FeatureView]
    adapter_type: str
    run_status: dict[str, str] = field(default_factory=dict)  # unique_id -> status in run_results.json
    run_results_found: bool = False

    def select(self, tokens: tuple[str, ...] | list[str]) -> list[FeatureView]:
        """Views matching `name` (every version), `name.vN`, or the relation name `name_vN`."""
        if not tokens:
            return [v for v in self.views if v.online]
        chosen: dict[str, FeatureView] = {}
        for token in tokens:
            matches = [v for v in self.views if token in (v.name, v.id, v.alias)]
            if not matches:
                known = ", ".join(sorted({v.id for v in self.views})) or "none"
                raise FsyncError(f"--select {token!r} matches no feature view; known feature views: {known}.")
            online = [v for v in matches if v.online]
            if not online:
                raise FsyncError(f"--select {token!r}: {matches[0].id} has meta.feature_view.online = false.")
            for v in online:
                chosen[v.unique_id] = v
        return list(chosen.values())

    def resolve(self, token: str) -> FeatureView:
        """One view for `fsync get`: `name` means its latest version."""
        exact = [v for v in self.views if token in (v.id, v.alias)]
        if len(exact) == 1:
            return exact[0]
        named = [v for v in self.views if v.name == token]
        if named:
            latest = [v for v in named if v.version is None or v.version == v.latest_version]
            return (latest or sorted(named, key=lambda v: v.version or 0))[-1]
        raise FsyncError(
            f"no feature view named {token!r}; known: {', '.join(sorted(v.id for v in self.views))}."
        )

    def health(self, view: FeatureView) -> str | None:
        """Why the view must not be published (its latest build or tests failed or never ran), or None."""
        if not self.run_results_found:
            return "no run_results.json: run `dbt build` before pushing"
        status = self.run_status.get(view.unique_id)
        if status is None:
            return "its model never ran in the latest dbt invocation (run `dbt build`)"
        if status != "success":
            return f"its latest build has status {status!r}"
        bad = []
        for test_id in view.test_ids:
            t = self.run_status.get(test_id)
            if t is None:
                bad.append(f"{_short(test_id)} never ran")
            elif t not in ("pass", "warn", "success"):
                bad.append(f"{_short(test_id)} {t}")
        if bad:
            return "its tests did not pass: " + "; ".join(bad[:5]) + (" ..." if len(bad) > 5 else "")
        return None


def _short(unique_id: str) -> str:
    return unique_id.split(".", 2)[-1]


def _schema_version(doc: dict[str, Any], kind: str, supported: tuple[int, ...], path: Path) -> int:
    url = str(doc.get("metadata", {}).get("dbt_schema_version", ""))
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
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FsyncError(
            f"{path} not found: run `dbt build` (or pass --target-path / --project-dir)."
        ) from None
    except json.JSONDecodeError as exc:
        raise FsyncError(f"{path} is not valid JSON ({exc}).") from None


def _parse_view(node: dict[str, Any], meta: Any, tests: list[str]) -> FeatureView:
    config = node.get("config") or {}
    version = node.get("version")
    latest = node.get("latest_version")
    columns = tuple(
        Column(name=c.get("name") or n, data_type=c.get("data_type"))
        for n, c in (node.get("columns") or {}).items()
    )
    base: dict[str, Any] = dict(
        unique_id=node["unique_id"],
        name=node["name"],
        version=int(version) if version is not None else None,
        latest_version=int(latest) if latest is not None else None,
        schema=node["schema"],
        alias=node.get("alias") or node["name"],
        database=node.get("database"),
        contract_enforced=bool((config.get("contract") or {}).get("enforced")),
        columns=columns,
        test_ids=tuple(tests),
    )
    label = node["name"] + (f".v{version}" if version is not None else "")
    problem = None
    if not isinstance(meta, dict):
        meta = {}
        problem = "meta.feature_view must be a mapping"
    keys = meta.get("entity_keys")
    if isinstance(keys, str):
        keys = [keys]
    if isinstance(keys, list):  # dbt appends a version's meta lists to the model's: drop the repeats
        keys = list(dict.fromkeys(keys))
    ttl_seconds = 0
    if problem is None and (not keys or not all(isinstance(k, str) and k for k in keys)):
        problem = "meta.feature_view.entity_keys is missing or empty; declare e.g. entity_keys: [user_id]"
    if problem is None and meta.get("ttl") in (None, ""):
        problem = "meta.feature_view.ttl is missing; declare e.g. ttl: 2d"
    if problem is None:
        try:
            ttl_seconds = parse_duration(meta.get("ttl"), f"view {label}: meta.feature_view.ttl")
        except FsyncError as exc:
            problem = str(exc)
    unknown = set(meta) - META_FIELDS
    if problem is None and unknown:
        problem = f"meta.feature_view has unknown field(s) {', '.join(sorted(unknown))}"
    return FeatureView(
        **base,
        entity_keys=tuple(keys or ()),
        timestamp=str(meta.get("timestamp") or "feature_ts"),
        created_timestamp=meta.get("created_timestamp") or None,
        ttl_seconds=ttl_seconds,
        online=meta.get("online", True) is not False,
        problem=problem,
    )


def load_registry(target_path: Path) -> Registry:
    manifest_path = target_path / "manifest.json"
    manifest = load_json(manifest_path)
    _schema_version(manifest, "manifest", SUPPORTED_MANIFEST, manifest_path)
    nodes: dict[str, dict[str, Any]] = manifest.get("nodes", {})

    tests_by_model: dict[str, list[str]] = {}
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
            tests_by_model.setdefault(target, []).append(uid)
    for uid, ut in (manifest.get("unit_tests") or {}).items():
        for dep in (ut.get("depends_on") or {}).get("nodes", []):
            if dep.startswith("model.") and _unit_test_targets(ut, nodes.get(dep, {})):
                tests_by_model.setdefault(dep, []).append(uid)

    views = []
    for uid, node in nodes.items():
        if node.get("resource_type") != "model":
            continue
        meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
        if "feature_view" not in meta:
            continue
        views.append(_parse_view(node, meta["feature_view"], sorted(tests_by_model.get(uid, []))))
    views.sort(key=lambda v: (v.name, v.version or 0))

    registry = Registry(
        views=views, adapter_type=str(manifest.get("metadata", {}).get("adapter_type", "duckdb"))
    )
    rr_path = target_path / "run_results.json"
    if rr_path.exists():
        rr = load_json(rr_path)
        _schema_version(rr, "run-results", SUPPORTED_RUN_RESULTS, rr_path)
        registry.run_results_found = True
        registry.run_status = {r["unique_id"]: str(r.get("status")) for r in rr.get("results", [])}
    return registry


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


def require_healthy(registry: Registry, view: FeatureView) -> None:
    reason = registry.health(view)
    if reason:
        raise CheckFailed(f"refusing to publish {view.id}: {reason}.")
