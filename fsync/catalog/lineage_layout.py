"""The lineage of one feature view as the catalog draws it, on the project graph: every ancestor
(sources, seeds, upstream models), the view, every descendant model (training sets) and exposure, each
assigned to a drawing layer (longest path, sources first, exposures last)."""

from __future__ import annotations

from dataclasses import dataclass

from fsync.manifest.graph import ProjectGraph


@dataclass(frozen=True)
class LineageNode:
    uid: str
    label: str
    kind: str  # source | upstream | view | other-view | training | downstream | exposure
    layer: int
    view_id: str | None = None  # set when the node is a feature view (the catalog links to its page)


@dataclass(frozen=True)
class LineageDrawing:
    nodes: tuple[LineageNode, ...]
    edges: tuple[tuple[str, str], ...]
    groups: tuple[tuple[str, int, int], ...] = ()  # heading, first layer, last layer

    def labels(self, kind: str) -> list[str]:
        return [n.label for n in self.nodes if n.kind == kind]


def view_lineage(graph: ProjectGraph, uid: str, view_ids: dict[str, str]) -> LineageDrawing:
    """`view_ids` maps the unique_id of every feature view to its catalog id (name or name@N)."""
    up = {n.unique_id for n in graph.upstream(uid)}
    down = {n.unique_id for n in graph.downstream(uid)}
    nodes = graph.nodes

    def kind_of(u: str) -> str:
        n = nodes[u]
        if u == uid:
            return "view"
        if u in view_ids:
            return "other-view"
        if u in up:
            return "source" if n.kind in ("source", "seed") else "upstream"
        if n.kind == "exposure":
            return "exposure"
        return "training" if n.is_training_set else "downstream"

    shown = up | down | {uid}
    parents = {u: [p for p in nodes[u].depends_on if p in shown and p != u] for u in shown}
    edges = tuple(sorted((p, c) for c in shown for p in parents[c]))

    layer: dict[str, int] = {}

    def up_depth(u: str) -> int:
        if u not in layer:
            layer[u] = 0  # cycle guard (a manifest has none)
            ps = [p for p in parents[u] if p in up]
            layer[u] = 1 + max((up_depth(p) for p in ps), default=-1)
            if nodes[u].kind not in ("source", "seed"):
                layer[u] = max(layer[u], 1)  # models never share the sources' column
        return layer[u]

    for u in up:
        up_depth(u)
    for u in up:
        if nodes[u].kind in ("source", "seed"):
            layer[u] = 0
    view_layer = 1 + max((layer[u] for u in up), default=-1)
    layer[uid] = view_layer

    def down_depth(u: str) -> int:
        if u not in layer:
            layer[u] = view_layer + 1
            ps = [p for p in parents[u] if p in down or p == uid]
            layer[u] = 1 + max((down_depth(p) for p in ps), default=view_layer)
        return layer[u]

    models_down = [u for u in down if nodes[u].kind != "exposure"]
    exposures = [u for u in down if nodes[u].kind == "exposure"]
    for u in models_down:
        down_depth(u)
    last_model = max((layer[u] for u in models_down), default=view_layer)
    for u in exposures:
        layer[u] = last_model + 1

    def label(u: str) -> str:
        n = nodes[u]
        return n.name if n.version is None else f"{n.name} v{n.version}"

    drawn = tuple(
        LineageNode(uid=u, label=label(u), kind=kind_of(u), layer=layer[u], view_id=view_ids.get(u))
        for u in sorted(shown, key=lambda u: (layer[u], label(u)))
    )
    groups = []
    for heading, members in (
        ("Sources", [u for u in up if nodes[u].kind in ("source", "seed")]),
        ("Upstream models", [u for u in up if nodes[u].kind not in ("source", "seed")]),
        ("Feature view", [uid]),
        ("Training sets & downstream", models_down),
        ("Exposures", exposures),
    ):
        if members:
            ls = [layer[u] for u in members]
            groups.append((heading, min(ls), max(ls)))
    return LineageDrawing(nodes=drawn, edges=edges, groups=tuple(groups))
