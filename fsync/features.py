"""Feature discovery: list, show and search the feature views of the manifest (data only; the CLI prints it).

A feature view summary carries every version; a search matches (case-insensitive substring) view names,
feature names, descriptions, entity keys, owner and tags, and says which field matched.
"""

from __future__ import annotations

from typing import Any

from fsync.errors import FsyncError
from fsync.lineage import Lineage, Node

SNIPPET_LINES = 40


def _feature_columns(node: Node) -> list[tuple[str, str | None, str]]:
    fv = node.feature_view_meta
    system = set(fv.get("entity_keys") or []) | {fv.get("timestamp"), fv.get("created_timestamp")}
    return [c for c in node.columns if c[0] not in system]


def summary(node: Node) -> dict[str, Any]:
    fv = node.feature_view_meta
    return {
        "view": node.label,
        "name": node.name,
        "version": node.version,
        "latest": node.version is None or node.version == node.latest_version,
        "deprecation_date": node.deprecation_date[:10] if node.deprecation_date else None,
        "description": " ".join(node.description.split()),
        "entity_keys": list(dict.fromkeys(fv.get("entity_keys") or [])),
        "timestamp": fv.get("timestamp"),
        "ttl": fv.get("ttl"),
        "freshness_sla": fv.get("freshness_sla"),
        "owner": fv.get("owner"),
        "online": fv.get("online"),
        "tags": list(dict.fromkeys(fv.get("tags") or [])),
        "features": [c[0] for c in _feature_columns(node)],
    }


def list_views(lineage: Lineage) -> list[dict[str, Any]]:
    return [summary(n) for n in lineage.feature_views()]


def show(lineage: Lineage, name: str) -> list[dict[str, Any]]:
    """Full detail of every version `name` resolves to (`name`, `name.vN`, `name@N`)."""
    target = lineage.resolve(name)
    views = [n for n in target.nodes if n.is_feature_view]
    if not views:
        raise FsyncError(f"{name!r} is not a feature view (no meta.feature_view); try `fsync features list`.")
    out = []
    for node in views:
        d = summary(node)
        sql = node.compiled_code or node.raw_code or ""
        lines = sql.strip().splitlines()
        d.update(
            sql_path=node.path,
            yaml_path=node.yaml_path,
            relation=node.relation,
            sql_kind="compiled" if node.compiled_code else "raw",
            sql_snippet="\n".join(lines[:SNIPPET_LINES]) + ("\n..." if len(lines) > SNIPPET_LINES else ""),
            columns=[
                {"name": c, "data_type": t, "description": " ".join(desc.split())}
                for c, t, desc in node.columns
            ],
            versions=[
                {
                    "view": v.label,
                    "latest": v.version == v.latest_version,
                    "deprecation_date": v.deprecation_date[:10] if v.deprecation_date else None,
                }
                for v in lineage.versions_of(node.name)
            ],
            upstream_sources=[n.label for n in lineage.sources_of(node.unique_id)],
            upstream_models=[n.label for n in lineage.upstream(node.unique_id) if n.kind == "model"],
            training_sets=[n.label for n in lineage.downstream(node.unique_id) if n.is_training_set],
            downstream_models=[
                n.label
                for n in lineage.downstream(node.unique_id)
                if n.kind == "model" and not n.is_training_set
            ],
            exposures=[
                {"name": n.label, "owner": n.owner}
                for n in lineage.downstream(node.unique_id)
                if n.kind == "exposure"
            ],
        )
        out.append(d)
    return out


def search(lineage: Lineage, text: str) -> list[dict[str, Any]]:
    """Feature views and features matching `text`; each hit says where it matched."""
    needle = text.strip().lower()
    if not needle:
        raise FsyncError("fsync features search: give a non-empty TEXT.")
    hits: list[dict[str, Any]] = []
    for node in lineage.feature_views():
        s = summary(node)
        fields = {
            "name": [node.label],
            "description": [s["description"]],
            "entity": s["entity_keys"],
            "owner": [str(s["owner"] or "")],
            "tag": s["tags"],
        }
        matched = sorted({f for f, values in fields.items() if any(needle in str(v).lower() for v in values)})
        if matched:
            hits.append(
                {
                    "view": node.label,
                    "feature": None,
                    "matched": matched,
                    "description": s["description"],
                    "owner": s["owner"],
                }
            )
        for col, _, desc in _feature_columns(node):
            where = [f for f, v in (("feature", col), ("description", desc)) if needle in v.lower()]
            if where:
                hits.append(
                    {
                        "view": node.label,
                        "feature": col,
                        "matched": where,
                        "description": " ".join(desc.split()),
                        "owner": s["owner"],
                    }
                )
    return hits
