"""What the catalog shows about each feature view version, read from dbt's manifest.json.

fsync.manifest gives the spec of each view (keys, timestamp, TTL, SLA, owner, tags, contract columns); this
module adds what the catalog needs on top: SQL, versions and their pages, column roles, the lineage drawing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fsync.catalog.lineage_layout import LineageDrawing, view_lineage
from fsync.manifest import FeatureViewSpec, Manifest


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
    view: FeatureViewSpec
    raw_sql: str
    compiled_sql: str
    columns: tuple[ColumnInfo, ...]
    versions: tuple[VersionRef, ...]
    lineage: LineageDrawing

    @property
    def id(self) -> str:
        return self.view.label

    @property
    def page(self) -> str:
        return page_name(self.view)

    @property
    def latest(self) -> bool:
        return self.view.is_latest

    @property
    def description(self) -> str:
        return self.view.description

    @property
    def owner(self) -> str:
        return self.view.owner

    @property
    def ttl(self) -> str:
        return self.view.ttl

    @property
    def freshness_sla(self) -> str:
        return self.view.freshness_sla

    @property
    def tags(self) -> tuple[str, ...]:
        return self.view.tags

    @property
    def sql_path(self) -> str:
        return self.view.sql_path or ""

    @property
    def deprecation_date(self) -> str | None:
        return self.view.deprecation_date

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
    manifest: Manifest


def page_name(view: FeatureViewSpec) -> str:
    """`views/<name>[.vN].html`."""
    stem = view.name if view.version is None else f"{view.name}.v{view.version}"
    return "views/" + re.sub(r"[^A-Za-z0-9_.-]", "_", stem) + ".html"


def _columns(view: FeatureViewSpec) -> tuple[ColumnInfo, ...]:
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
        out.append(ColumnInfo(col.name, col.data_type, col.description.strip(), role))
    return tuple(out)


def load_catalog(manifest: Manifest) -> Catalog:
    labels = {v.unique_id: v.label for v in manifest.views}
    infos = []
    for v in manifest.views:
        node = manifest.node(v.unique_id)
        versions = tuple(
            VersionRef(
                id=o.label,
                version=o.version,
                latest=o.is_latest,
                deprecation_date=o.deprecation_date,
                page=page_name(o),
            )
            for o in manifest.views_named(v.name)
        )
        infos.append(
            ViewInfo(
                view=v,
                raw_sql=node.raw_code or "",
                compiled_sql=node.compiled_code or "",
                columns=_columns(v),
                versions=versions,
                lineage=view_lineage(manifest.graph, v.unique_id, labels),
            )
        )
    return Catalog(
        project=manifest.project_name or "dbt project",
        adapter_type=manifest.adapter_type,
        dbt_version=manifest.dbt_version,
        generated_at=manifest.generated_at,
        views=tuple(infos),
        manifest=manifest,
    )
