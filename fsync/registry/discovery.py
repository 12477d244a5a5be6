"""Feature discovery: list, show and search the feature views of the manifest (data only; the CLI prints it).

A feature view summary carries every version; a search matches (case-insensitive substring) view names,
feature names, descriptions, entity keys, owner and tags, and says which field matched.
"""

from __future__ import annotations

from typing import Any

from fsync.errors import FsyncError
from fsync.manifest import FeatureViewSpec, Manifest

SNIPPET_LINES = 40


def summary(view: FeatureViewSpec) -> dict[str, Any]:
    return {
        "view": view.label,
        "name": view.name,
        "version": view.version,
        "latest": view.is_latest,
        "deprecation_date": view.deprecation_date,
        "description": view.description,
        "entity_keys": list(view.entity_keys),
        "timestamp": view.timestamp,
        "ttl": view.ttl,
        "freshness_sla": view.freshness_sla,
        "owner": view.owner,
        "online": view.online,
        "tags": list(view.tags),
        "features": [c.name for c in view.features],
        "problems": [str(p) for p in view.problems],
    }


def list_views(manifest: Manifest) -> list[dict[str, Any]]:
    return [summary(v) for v in manifest.views]


def show(manifest: Manifest, name: str) -> list[dict[str, Any]]:
    """Full detail of every version `name` names (`name` = every version, `name@N` one)."""
    graph = manifest.graph
    out = []
    for view in manifest.views_named(name):
        node = graph.nodes[view.unique_id]
        d = summary(view)
        sql = node.compiled_code or node.raw_code or ""
        lines = sql.strip().splitlines()
        downstream = graph.downstream(view.unique_id)
        d.update(
            sql_path=view.sql_path,
            yaml_path=view.yaml_path,
            relation=node.relation,
            sql_kind="compiled" if node.compiled_code else "raw",
            sql_snippet="\n".join(lines[:SNIPPET_LINES]) + ("\n..." if len(lines) > SNIPPET_LINES else ""),
            columns=[
                {"name": c.name, "data_type": c.data_type, "description": " ".join(c.description.split())}
                for c in view.columns
            ],
            versions=[
                {"view": v.label, "latest": v.is_latest, "deprecation_date": v.deprecation_date}
                for v in manifest.views_named(view.name)
            ],
            upstream_sources=[n.label for n in graph.sources_of(view.unique_id)],
            upstream_models=[n.label for n in graph.upstream(view.unique_id) if n.kind == "model"],
            training_sets=[n.label for n in downstream if n.is_training_set],
            downstream_models=[n.label for n in downstream if n.kind == "model" and not n.is_training_set],
            exposures=[{"name": n.label, "owner": n.owner} for n in downstream if n.kind == "exposure"],
        )
        out.append(d)
    return out


def search(manifest: Manifest, text: str) -> list[dict[str, Any]]:
    """Feature views and features matching `text`; each hit says where it matched."""
    needle = text.strip().lower()
    if not needle:
        raise FsyncError("fsync features search: give a non-empty TEXT.")
    hits: list[dict[str, Any]] = []
    for view in manifest.views:
        fields = {
            "name": [view.label],
            "description": [view.description],
            "entity": list(view.entity_keys),
            "owner": [view.owner],
            "tag": list(view.tags),
        }
        matched = sorted({f for f, values in fields.items() if any(needle in str(v).lower() for v in values)})
        if matched:
            hits.append(
                {
                    "view": view.label,
                    "feature": None,
                    "matched": matched,
                    "description": view.description,
                    "owner": view.owner,
                }
            )
        for col in view.features:
            where = [
                f for f, v in (("feature", col.name), ("description", col.description)) if needle in v.lower()
            ]
            if where:
                hits.append(
                    {
                        "view": view.label,
                        "feature": col.name,
                        "matched": where,
                        "description": " ".join(col.description.split()),
                        "owner": view.owner,
                    }
                )
    return hits
