"""What the catalog shows about each feature view version, read from dbt's manifest.json.

fsync.artifacts gives the typed view (keys, timestamp, TTL, contract columns); this module adds what the
catalog needs on top: description, owner, SLA, tags, SQL, versions and deprecation dates, column descriptions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsync.artifacts import FeatureView, Registry, load_registry
from fsync.catalog.graph import Lineage, view_lineage
from fsync.errors import FsyncError
from fsync.lineage import Lineage as Graph


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    data_type: str | None
    description: str
    role: str  # entity key | timestamp | created timestamp | feature


@dataclass(frozen=True)
class VersionRef:
    id: str
    version: int | None
    latest: bool
    deprecation_date: str | None
    page: str


@dataclass(frozen=True)
class ViewInfo:
    view: FeatureView
    description: str
    owner: str
    freshness_sla: str
    ttl: str
    tags: tuple[str, ...]
    sql_path: str
    raw_sql: str
    compiled_sql: str
    deprecation_date: str | None
    columns: tuple[ColumnInfo, ...]
    versions: tuple[VersionRef, ...]
    lineage: Lineage

    @property
    def id(self) -> str:
        return self.view.id

    @property
    def page(self) -> str:
        return page_name(self.view.id)

    @property
    def latest(self) -> bool:
        return self.view.version is None or self.view.version == self.view.latest_version

    @property
    def features(self) -> tuple[ColumnInfo, ...]:
        return tuple(c for c in self.columns if c.role == "feature")


@dataclass(frozen=True)
class Catalog:
    project: str
    adapter_type: str
    dbt_version: str
    generated_at: str  # manifest generation time
    views: tuple[ViewInfo, ...]
    registry: Registry


def page_name(view_id: str) -> str:
    return "views/" + re.sub(r"[^A-Za-z0-9_.-]", "_", view_id) + ".html"


def _meta(node: dict[str, Any]) -> dict[str, Any]:
    meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
    fv = meta.get("feature_view")
    return fv if isinstance(fv, dict) else {}


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _columns(view: FeatureView, node: dict[str, Any]) -> tuple[ColumnInfo, ...]:
    described = node.get("columns") or {}
    out = []
    for col in view.columns:
        if col.name in view.entity_keys:
            role = "entity key"
        elif col.name == view.timestamp:
            role = "timestamp"
        elif col.name == view.created_timestamp:
            role = "created timestamp"
        else:
            role = "feature"
        desc = _text((described.get(col.name) or {}).get("description")).strip()
        out.append(ColumnInfo(col.name, col.data_type, desc, role))
    return tuple(out)


def load_catalog(target_path: Path) -> Catalog:
    registry = load_registry(target_path)  # validates the artifacts' schema versions
    manifest = json.loads((target_path / "manifest.json").read_text())
    nodes: dict[str, dict[str, Any]] = manifest.get("nodes", {})
    graph = Graph.from_manifest(manifest)
    view_ids = {x.unique_id: x.id for x in registry.views}
    by_name: dict[str, list[FeatureView]] = {}
    for v in registry.views:
        by_name.setdefault(v.name, []).append(v)

    infos = []
    for v in registry.views:
        node = nodes.get(v.unique_id)
        if node is None:
            raise FsyncError(f"manifest.json lost node {v.unique_id} while reading it; rerun dbt.")
        meta = _meta(node)
        tags = meta.get("tags") or []
        if isinstance(tags, str):
            tags = [tags]
        versions = tuple(
            VersionRef(
                id=o.id,
                version=o.version,
                latest=o.version is None or o.version == o.latest_version,
                deprecation_date=_text(nodes.get(o.unique_id, {}).get("deprecation_date")) or None,
                page=page_name(o.id),
            )
            for o in sorted(by_name[v.name], key=lambda x: x.version or 0)
        )
        infos.append(
            ViewInfo(
                view=v,
                description=_text(node.get("description") or meta.get("description")).strip(),
                owner=_text(meta.get("owner")),
                freshness_sla=_text(meta.get("freshness_sla")),
                ttl=_text(meta.get("ttl")),
                tags=tuple(dict.fromkeys(str(t) for t in tags)),  # dbt repeats a version's meta lists
                sql_path=_text(node.get("original_file_path")),
                raw_sql=_text(node.get("raw_code")),
                compiled_sql=_text(node.get("compiled_code")),
                deprecation_date=_text(node.get("deprecation_date")) or None,
                columns=_columns(v, node),
                versions=versions,
                lineage=view_lineage(graph, v.unique_id, view_ids),
            )
        )
    md = manifest.get("metadata") or {}
    return Catalog(
        project=_text(md.get("project_name")) or "dbt project",
        adapter_type=registry.adapter_type,
        dbt_version=_text(md.get("dbt_version")),
        generated_at=_text(md.get("generated_at")),
        views=tuple(infos),
        registry=registry,
    )
