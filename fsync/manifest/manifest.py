"""The manifest as fsync reads it, parsed once: the project graph, every feature-view spec, every training-set
spec, the build health of each node, and the one resolver of view and feature names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fsync.errors import FsyncError
from fsync.manifest.artifacts import load_manifest_json, tests_by_model
from fsync.manifest.graph import Node, ProjectGraph
from fsync.manifest.health import BuildHealth, load_build_health
from fsync.manifest.names import FeatureRef, ViewRef, did_you_mean, parse_feature_ref, parse_view_ref
from fsync.manifest.spec import FeatureViewSpec, TrainingSetSpec, parse_feature_view, parse_training_set


@dataclass(frozen=True)
class Manifest:
    target_path: Path
    adapter_type: str
    project_name: str
    dbt_version: str
    generated_at: str
    graph: ProjectGraph
    views: tuple[FeatureViewSpec, ...]  # sorted by (name, version)
    training_sets: tuple[TrainingSetSpec, ...]
    health: BuildHealth

    # -- resolution -----------------------------------------------------------------------------------
    def _known_views(self) -> list[str]:
        return sorted({v.label for v in self.views} | {v.name for v in self.views})

    def _match(self, ref: ViewRef) -> list[FeatureViewSpec]:
        named = [v for v in self.views if v.name == ref.name]
        if not named:  # the relation name dbt builds for a version, e.g. user_purchase_features_v2
            named = [v for v in self.views if v.alias == ref.name]
            if named and ref.version is None:
                ref = ViewRef(ref.text, named[0].name, named[0].version)
                named = [v for v in self.views if v.name == ref.name]
        if not named:
            raise FsyncError(
                f"no feature view named {ref.text!r}.{did_you_mean(ref.name, self._known_views())}"
                f" Known feature views: {', '.join(self._known_views()) or 'none'}."
            )
        if ref.version is None:
            return named
        pinned = [v for v in named if v.version == ref.version]
        if not pinned:
            versions = ", ".join(v.label for v in named)
            raise FsyncError(
                f"{ref.text!r}: {ref.name} has no version {ref.version}; its versions: {versions}."
            )
        return pinned

    def views_named(self, text: str) -> list[FeatureViewSpec]:
        """Every version `text` names (all versions of an unversioned name)."""
        return self._match(parse_view_ref(text))

    def view(self, text: str) -> FeatureViewSpec:
        """The one version `text` names: an unversioned name means its latest version."""
        matches = self.views_named(text)
        if len(matches) == 1:
            return matches[0]
        latest = [v for v in matches if v.version is not None and v.version == v.latest_version]
        return latest[0] if latest else max(matches, key=lambda v: v.version or 0)

    def feature(self, text: str | FeatureRef) -> tuple[FeatureViewSpec, str]:
        """`VIEW:FEATURE` -> (the view version, the feature column), checked against the contract."""
        ref = parse_feature_ref(text) if isinstance(text, str) else text
        spec = self.view(ref.view.text)
        names = [c.name for c in spec.features]
        if ref.feature not in names:
            system = ref.feature in spec.system_columns
            why = "is a key/timestamp column, not a feature" if system else "is not one of its features"
            raise FsyncError(
                f"{ref.display!r}: {ref.feature!r} {why} of {spec.label}.{did_you_mean(ref.feature, names)}"
                f" Its features: {', '.join(names) or 'none'}."
            )
        return spec, ref.feature

    def select_online(self, texts: list[str] | tuple[str, ...]) -> list[FeatureViewSpec]:
        """Views to push: every online view when `texts` is empty, else every version each text names."""
        if not texts:
            return [v for v in self.views if v.online]
        chosen: dict[str, FeatureViewSpec] = {}
        for text in texts:
            matches = self.views_named(text)
            online = [v for v in matches if v.online]
            if not online:
                raise FsyncError(
                    f"--select {text!r}: {matches[0].label} has meta.feature_view.online = false."
                )
            for v in online:
                chosen[v.unique_id] = v
        return list(chosen.values())

    def nodes_named(self, text: str) -> list[Node]:
        """Graph nodes for `fsync impact`: feature-view versions by the view resolver, else any model, seed,
        source or exposure of that name."""
        try:
            return [self.graph.nodes[v.unique_id] for v in self.views_named(text)]
        except FsyncError:
            ref = parse_view_ref(text)
            nodes = [
                n
                for n in self.graph.nodes.values()
                if n.name == ref.name and (ref.version is None or n.version == ref.version)
            ]
            if nodes:
                return sorted(nodes, key=lambda n: n.version or 0)
            raise

    def health_of(self, view: FeatureViewSpec) -> str | None:
        """Why the view must not be published now (spec problems first, then its dbt build/tests), or None."""
        if view.problems:
            return view.problem_text()
        return self.health.reason(view.unique_id, view.test_ids)

    def node(self, unique_id: str) -> Node:
        return self.graph.nodes[unique_id]


def parse_manifest(doc: dict[str, Any], target_path: Path, health: BuildHealth | None = None) -> Manifest:
    graph = ProjectGraph.from_manifest(doc)
    tests = tests_by_model(doc)
    views = sorted(
        (parse_feature_view(n, tests.get(n.unique_id, ())) for n in graph.feature_views()),
        key=lambda v: (v.name, v.version or 0),
    )
    metadata = doc.get("metadata") or {}
    return Manifest(
        target_path=target_path,
        adapter_type=graph.adapter_type,
        project_name=str(metadata.get("project_name") or ""),
        dbt_version=str(metadata.get("dbt_version") or ""),
        generated_at=str(metadata.get("generated_at") or ""),
        graph=graph,
        views=tuple(views),
        training_sets=tuple(parse_training_set(n) for n in graph.training_sets()),
        health=health or BuildHealth(),
    )


def load_manifest(target_path: Path) -> Manifest:
    """target_path/manifest.json, parsed once, with the build health of every dbt invocation fsync can see
    there (fsync/manifest/health.py)."""
    doc = load_manifest_json(target_path)
    return parse_manifest(doc, target_path, load_build_health(target_path, doc))
