"""Synthetic dbt artifacts (manifest.json + run_results.json) for fsync's bad-input and crash tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def fv_meta(**fields: Any) -> dict[str, Any]:
    """A complete, valid meta.feature_view (every required key), with `fields` overriding or adding keys;
    a field set to None is left out."""
    meta: dict[str, Any] = {
        "entity_keys": ["user_id"], "timestamp": "feature_ts", "ttl": "1d", "freshness_sla": "1d",
        "owner": "tests@example.com", "online": True,
    }
    meta.update(fields)
    return {k: v for k, v in meta.items() if v is not None}


def write_artifacts(
    target: Path,
    views: list[dict[str, Any]],
    statuses: dict[str, str] | None = None,
    manifest_version: int = 12,
    run_results_version: int = 6,
    command: str | None = "build",
) -> None:
    """Minimal manifest.json + run_results.json for models described as
    {name, schema, alias?, version?, meta (feature_view), columns {name: type}, contract (bool)}."""
    target.mkdir(parents=True, exist_ok=True)
    nodes: dict[str, Any] = {}
    results = []
    for v in views:
        uid = f"model.proj.{v['name']}" + (f".v{v['version']}" if v.get("version") else "")
        nodes[uid] = {
            "unique_id": uid,
            "resource_type": "model",
            "name": v["name"],
            "version": v.get("version"),
            "latest_version": v.get("version"),
            "database": "db",
            "schema": v.get("schema", "main"),
            "alias": v.get("alias", v["name"]),
            "config": {
                "meta": {"feature_view": v["meta"]},
                "contract": {"enforced": v.get("contract", True)},
            },
            "columns": {c: {"name": c, "data_type": t} for c, t in v.get("columns", {}).items()},
        }
        results.append({"unique_id": uid, "status": (statuses or {}).get(v["name"], "success")})
    (target / "manifest.json").write_text(
        json.dumps(
            {
                "metadata": {
                    "dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{manifest_version}.json",
                    "adapter_type": "duckdb",
                },
                "nodes": nodes,
            }
        )
    )
    (target / "run_results.json").write_text(
        json.dumps(
            {
                "metadata": {
                    "dbt_schema_version": f"https://schemas.getdbt.com/dbt/run-results/v{run_results_version}.json"
                },
                "args": {"which": command} if command else {},
                "results": results,
            }
        )
    )
