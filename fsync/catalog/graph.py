"""The lineage of one feature view as the catalog draws it: every ancestor (sources, seeds, upstream
models), the view, every descendant model (training sets) and exposure, each assigned to a layer.

A minimal walk over manifest.json's parent_map/child_map, kept private to the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DRAWN = frozenset({"source", "seed", "model", "snapshot", "exposure"})
PIT_MACRO = "point_in_time_join"


@dataclass(frozen=True)
class LineageNode:
    uid: str
    label: str
    kind: str  # source | upstream | view | other-view | training | downstream | exposure
    layer: int
    view_id: str | None = None  # set when the node is a feature view (the catalog links to its page)


@dataclass(frozen=True)
class Lineage:
    nodes: tuple[LineageNode, ...]
    edges: tuple[tuple[str, str], ...]
    groups: tuple[tuple[str, int, int], ...] = field(default=())  # heading, first layer, last layer

    def labels(self, kind: str) -> list[str]:
        return [n.label for n in self.nodes if n.kind == kind]


def _walk(start: str, step: dict[str, list[str]], kinds: dict[str, str]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in step.get(todo.pop(), []):
            if nxt not in seen and kinds.get(nxt) in DRAWN:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _label(uid: str, res: dict[str, Any]) -> str:
    if res.get("resource_type") == "source":
        return f"{res.get('source_name')}.{res.get('name')}"
    version = res.get("version")
    return str(res.get("name") or uid) + (f" v{version}" if version is not None else "")


def view_lineage(manifest: dict[str, Any], uid: str, view_ids: dict[str, str]) -> Lineage:
    """`view_ids` maps the unique_id of every feature view to its catalog id (name or name.vN)."""
    resources: dict[str, dict[str, Any]] = {}
    for section in ("nodes", "sources", "exposures"):
        resources.update(manifest.get(section) or {})
    kinds = {k: str(r.get("resource_type")) for k, r in resources.items()}
    parents: dict[str, list[str]] = manifest.get("parent_map") or {}
    children: dict[str, list[str]] = manifest.get("child_map") or {}
    up, down = _walk(uid, parents, kinds), _walk(uid, children, kinds)

    def kind_of(n: str) -> str:
        k = kinds[n]
        if n == uid:
            return "view"
        if n in up:
            return "source" if k in ("source", "seed") else "upstream"
        if k == "exposure":
            return "exposure"
        macros = (resources[n].get("depends_on") or {}).get("macros") or []
        return "training" if any(m.endswith("." + PIT_MACRO) for m in macros) else "downstream"

    shown = sorted(up | down | {uid})
    edges = sorted((p, c) for c in shown for p in parents.get(c, []) if p in shown and p != c)

    # Longest-path layering inside each side; sources first, the view in the middle, exposures last.
    layer: dict[str, int] = {}

    def depth(n: str) -> int:
        if n not in layer:
            layer[n] = -1  # cycle guard (a manifest has none)
            ps = [p for p in parents.get(n, []) if p in up]
            layer[n] = 0 if kind_of(n) == "source" or not ps else 1 + max(depth(p) for p in ps)
        return layer[n]

    for n in up:
        depth(n)
    if any(kind_of(n) == "upstream" for n in up):
        for n in up:
            if kind_of(n) == "upstream":
                layer[n] = max(layer[n], 1)
    view_layer = 1 + max((layer[n] for n in up), default=-1)
    layer[uid] = view_layer

    def down_depth(n: str) -> int:
        if n not in layer:
            layer[n] = view_layer + 1
            ps = [p for p in parents.get(n, []) if p in down or p == uid]
            layer[n] = 1 + max((down_depth(p) for p in ps), default=view_layer)
        return layer[n]

    for n in down:
        if kinds[n] != "exposure":
            down_depth(n)
    model_max = max((layer[n] for n in down if kinds[n] != "exposure"), default=view_layer)
    for n in down:
        if kinds[n] == "exposure":
            layer[n] = model_max + 1

    nodes = tuple(
        LineageNode(
            uid=n,
            label=_label(n, resources[n]),
            kind="other-view" if n != uid and n in view_ids else kind_of(n),
            layer=layer[n],
            view_id=view_ids.get(n),
        )
        for n in sorted(shown, key=lambda n: (layer[n], _label(n, resources[n])))
    )
    groups = []
    src = [layer[n] for n in up if kind_of(n) == "source"]
    ups = [layer[n] for n in up if kind_of(n) == "upstream"]
    downs = [layer[n] for n in down if kinds[n] != "exposure"]
    exps = [layer[n] for n in down if kinds[n] == "exposure"]
    for heading, ls in (("Sources", src), ("Upstream models", ups), ("Feature view", [view_layer]),
                        ("Training sets & downstream", downs), ("Exposures", exps)):
        if ls:
            groups.append((heading, min(ls), max(ls)))
    return Lineage(nodes=nodes, edges=tuple(edges), groups=tuple(groups))
