"""The project graph, read from dbt's target/manifest.json (pure: no dbt, no warehouse, no CLI).

Nodes are the project's sources, seeds, models (one node per model version:
`model.fstore_demo.user_purchase_features.v2`) and exposures; an edge runs from every entry of a node's
`depends_on.nodes` to the node.

    graph = ProjectGraph.from_manifest(manifest_dict)
    graph.feature_views() / graph.training_sets() / graph.exposures() / graph.versions_of(name)
    graph.sources_of(uid)                             # transitive upstream sources and seeds
    graph.upstream(uid) / graph.downstream(uid)       # transitive ancestors / descendants, sorted by label
    graph.impact(nodes, feature=None)                 # -> Impact(models, training_sets, exposures)

A node's `label` is its canonical display: `name` or `name@N` for a model version (sources:
`source_name.table`).

Feature-level impact: a direct child selects a feature when the column name occurs as an identifier token in
its compiled SQL (its raw SQL when not compiled); exposures depending on the view itself are always affected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fsync.errors import FsyncError

KINDS = ("source", "seed", "model", "exposure")


@dataclass(frozen=True)
class Node:
    unique_id: str
    kind: str  # source | seed | model | exposure
    name: str
    version: int | None = None
    latest_version: int | None = None
    deprecation_date: str | None = None
    description: str = ""
    path: str | None = None  # original_file_path
    yaml_path: str | None = None  # the YAML file holding its properties (patch_path without `package://`)
    relation: str | None = None  # relation_name as dbt renders it
    database: str | None = None
    schema: str | None = None
    alias: str | None = None
    depends_on: tuple[str, ...] = ()
    columns: tuple[tuple[str, str | None, str], ...] = ()  # (name, data_type, description)
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    owner: str | None = None  # exposure owner (email or name)
    tags: tuple[str, ...] = ()
    raw_code: str | None = None
    compiled_code: str | None = None
    contract_enforced: bool = False

    @property
    def label(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"

    @property
    def is_latest(self) -> bool:
        return self.version is None or self.version == self.latest_version

    @property
    def is_feature_view(self) -> bool:
        return self.kind == "model" and "feature_view" in self.meta

    @property
    def is_training_set(self) -> bool:
        return self.kind == "model" and isinstance(self.meta.get("training_set"), dict)

    @property
    def sql(self) -> str:
        """Compiled SQL when the manifest has it (after dbt compile/run/build), else the raw Jinja SQL."""
        return self.compiled_code or self.raw_code or ""


@dataclass(frozen=True)
class Impact:
    nodes: tuple[Node, ...]  # what changes: one or more versions of a view
    feature: str | None
    models: tuple[Node, ...]  # every downstream model that is not a training set
    training_sets: tuple[Node, ...]
    exposures: tuple[Node, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": [n.label for n in self.nodes],
            "feature": self.feature,
            "models": [n.label for n in self.models],
            "training_sets": [n.label for n in self.training_sets],
            "exposures": [n.label for n in self.exposures],
        }


def _owner(raw: Any) -> str | None:
    if isinstance(raw, dict):
        return raw.get("email") or raw.get("name")
    return str(raw) if raw else None


def _version(uid: str, key: str, value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FsyncError(
            f"manifest node {uid} has {key} {value!r}, not a number; dbt model versions are integers"
            " (`- v: 2`): fix the model's YAML and rebuild."
        ) from None


def _node(uid: str, raw: dict[str, Any], kind: str) -> Node:
    config = raw.get("config") or {}
    meta = dict(config.get("meta") or raw.get("meta") or {})
    version = raw.get("version")
    latest = raw.get("latest_version")
    name = raw["name"] if kind != "source" else f"{raw.get('source_name')}.{raw['name']}"
    columns = tuple(
        (c.get("name") or n, c.get("data_type"), c.get("description") or "")
        for n, c in (raw.get("columns") or {}).items()
    )
    return Node(
        unique_id=uid,
        kind=kind,
        name=name,
        version=_version(uid, "version", version),
        latest_version=_version(uid, "latest_version", latest),
        deprecation_date=str(raw["deprecation_date"]) if raw.get("deprecation_date") else None,
        description=raw.get("description") or "",
        path=raw.get("original_file_path"),
        yaml_path=str(raw["patch_path"]).split("://", 1)[-1] if raw.get("patch_path") else None,
        relation=raw.get("relation_name"),
        database=raw.get("database"),
        schema=raw.get("schema"),
        alias=raw.get("alias") or (raw.get("identifier") if kind == "source" else raw["name"]),
        depends_on=tuple((raw.get("depends_on") or {}).get("nodes") or ()),
        columns=columns,
        meta=meta,
        owner=_owner(raw.get("owner")) if kind == "exposure" else None,
        tags=tuple(dict.fromkeys(str(t) for t in raw.get("tags") or [])),
        raw_code=raw.get("raw_code"),
        compiled_code=raw.get("compiled_code"),
        contract_enforced=bool((config.get("contract") or {}).get("enforced")),
    )


class ProjectGraph:
    def __init__(self, nodes: Iterable[Node], adapter_type: str = "duckdb") -> None:
        self.nodes: dict[str, Node] = {n.unique_id: n for n in nodes}
        self.adapter_type = adapter_type
        self.children: dict[str, list[str]] = {uid: [] for uid in self.nodes}
        for node in self.nodes.values():
            for parent in node.depends_on:
                if parent in self.nodes:
                    self.children[parent].append(node.unique_id)

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> ProjectGraph:
        nodes: list[Node] = []
        for uid, raw in (manifest.get("nodes") or {}).items():
            kind = raw.get("resource_type")
            if kind in ("model", "seed"):
                nodes.append(_node(uid, raw, kind))
        for uid, raw in (manifest.get("sources") or {}).items():
            nodes.append(_node(uid, raw, "source"))
        for uid, raw in (manifest.get("exposures") or {}).items():
            nodes.append(_node(uid, raw, "exposure"))
        adapter = str((manifest.get("metadata") or {}).get("adapter_type") or "duckdb")
        return cls(nodes, adapter)

    # -- listings ---------------------------------------------------------------------------------
    def _sorted(self, uids: Iterable[str]) -> list[Node]:
        return sorted((self.nodes[u] for u in set(uids)), key=lambda n: (n.kind, n.name, n.version or 0))

    def feature_views(self) -> list[Node]:
        return self._sorted(u for u, n in self.nodes.items() if n.is_feature_view)

    def training_sets(self) -> list[Node]:
        return self._sorted(u for u, n in self.nodes.items() if n.is_training_set)

    def exposures(self) -> list[Node]:
        return self._sorted(u for u, n in self.nodes.items() if n.kind == "exposure")

    def versions_of(self, name: str) -> list[Node]:
        return self._sorted(u for u, n in self.nodes.items() if n.kind == "model" and n.name == name)

    # -- traversal --------------------------------------------------------------------------------
    def _walk(self, start: str, step: dict[str, list[str]] | None) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            uid = todo.pop()
            nxt = self.children.get(uid, []) if step is None else step.get(uid, [])
            for other in nxt:
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        return seen

    def upstream(self, uid: str) -> list[Node]:
        parents = {u: [p for p in n.depends_on if p in self.nodes] for u, n in self.nodes.items()}
        return self._sorted(self._walk(self._known(uid), parents))

    def downstream(self, uid: str) -> list[Node]:
        return self._sorted(self._walk(self._known(uid), None))

    def sources_of(self, uid: str) -> list[Node]:
        """The sources and seeds a node is ultimately computed from."""
        return [n for n in self.upstream(uid) if n.kind in ("source", "seed")]

    def consumers(self, uid: str) -> list[Node]:
        """Downstream training sets and exposures of a node."""
        return [n for n in self.downstream(uid) if n.is_training_set or n.kind == "exposure"]

    def _known(self, uid: str) -> str:
        if uid not in self.nodes:
            raise FsyncError(f"{uid!r} is not a node of the manifest.")
        return uid

    # -- impact -----------------------------------------------------------------------------------
    def impact(self, changed: tuple[Node, ...], feature: str | None = None) -> Impact:
        affected: set[str] = set()
        for node in changed:
            if feature is None:
                affected |= self._walk(node.unique_id, None)
                continue
            for child in self.children.get(node.unique_id, []):
                c = self.nodes[child]
                if c.kind == "exposure" or selects_column(c.sql, feature):
                    affected.add(child)
                    affected |= self._walk(child, None)
        nodes = self._sorted(affected)
        return Impact(
            nodes=changed,
            feature=feature,
            models=tuple(n for n in nodes if n.kind == "model" and not n.is_training_set),
            training_sets=tuple(n for n in nodes if n.is_training_set),
            exposures=tuple(n for n in nodes if n.kind == "exposure"),
        )


_IDENT = re.compile(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)')
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/|\{#.*?#\}", re.S)
_STRINGS = re.compile(r"'(?:[^']|'')*'")


def selects_column(sql: str, column: str) -> bool:
    """Whether `column` occurs as an identifier in the SQL (comments ignored; Jinja string args count)."""
    text = _COMMENTS.sub(" ", sql)
    # Jinja macro arguments name columns in quotes (columns=['purchase_count_30d']): keep their content.
    text = _STRINGS.sub(lambda m: " " + m.group(0)[1:-1] + " ", text)
    wanted = column.lower()
    for m in _IDENT.finditer(text):
        ident = m.group(1).replace('""', '"') if m.group(1) is not None else m.group(2)
        if ident.lower() == wanted:
            return True
    return False
