"""Lays out a view's lineage as an inline SVG: one column per layer, boxes stacked, curved arrows."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from fsync.catalog.lineage_layout import LineageDrawing

BOX_W, BOX_H, COL_GAP, ROW_GAP, TOP, PAD, LANE_H = 180, 34, 44, 14, 40, 12, 4
SMALL_FROM, MAX_CHARS = 23, 27  # longer labels get a smaller font, then an ellipsis


def _clip(text: str) -> str:
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "\u2026"


def lineage_svg(lineage: LineageDrawing, href: Callable[[str], str | None]) -> str:
    """`href(view_id)` gives the link of another feature view's page (relative to the page), or None."""
    layers = sorted({n.layer for n in lineage.nodes})
    col = {layer: i for i, layer in enumerate(layers)}
    node_col = {n.uid: col[n.layer] for n in lineage.nodes}
    # Each column holds its boxes, then one thin lane per edge that passes through it, so a long edge
    # never runs behind a box.
    per_col: dict[int, list[tuple[str, float]]] = {}
    for n in lineage.nodes:
        per_col.setdefault(node_col[n.uid], []).append((n.uid, BOX_H))
    for i, (p, c) in enumerate(lineage.edges):
        for k in range(node_col[p] + 1, node_col[c]):
            per_col.setdefault(k, []).append((f"lane:{i}:{k}", LANE_H))

    def col_height(items: list[tuple[str, float]]) -> float:
        return sum(h for _, h in items) + ROW_GAP * (len(items) - 1)

    inner = max((col_height(v) for v in per_col.values()), default=BOX_H)
    height = TOP + inner + 2 * PAD
    width = PAD * 2 + len(layers) * BOX_W + (len(layers) - 1) * COL_GAP
    pos: dict[str, tuple[float, float]] = {}  # top-left of a box; for a lane, its centre line
    for c, items in per_col.items():
        y = TOP + PAD + (inner - col_height(items)) / 2
        for key, h in items:
            pos[key] = (PAD + c * (BOX_W + COL_GAP), y if h == BOX_H else y + h / 2)
            y += h + ROW_GAP

    out = [
        f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}"'
        f' viewBox="0 0 {width} {height:.0f}" role="img" aria-label="lineage">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"'
        ' orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
    ]
    for heading, first, last in lineage.groups:
        x0 = PAD + col[first] * (BOX_W + COL_GAP)
        x1 = PAD + col[last] * (BOX_W + COL_GAP) + BOX_W
        out.append(
            f'<text class="heading" x="{(x0 + x1) / 2:.0f}" y="{PAD + 12}" text-anchor="middle">'
            f"{escape(heading)}</text>"
        )
    for i, (parent, child) in enumerate(lineage.edges):
        (px, py), (cx, cy) = pos[parent], pos[child]
        points = [(px + BOX_W, py + BOX_H / 2)]
        for k in range(node_col[parent] + 1, node_col[child]):
            lx, ly = pos[f"lane:{i}:{k}"]
            points += [(lx, ly), (lx + BOX_W, ly)]
        points.append((cx, cy + BOX_H / 2))
        d = f"M{points[0][0]:.0f},{points[0][1]:.0f}"
        for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
            if y1 == y2:  # straight, e.g. through a lane
                d += f" L{x2:.0f},{y2:.0f}"
            else:
                bend = (x2 - x1) / 2
                d += f" C{x1 + bend:.0f},{y1:.0f} {x2 - bend:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
        out.append(f'<path class="edge" d="{d}" marker-end="url(#arrow)"/>')
    for n in lineage.nodes:
        x, y = pos[n.uid]
        small = ' class="small"' if len(n.label) >= SMALL_FROM else ""
        box = (
            f'<g class="node {escape(n.kind)}" data-uid="{escape(n.uid)}">'
            f"<title>{escape(n.label)} ({escape(n.uid)})</title>"
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
            f'<text x="{x + BOX_W / 2:.0f}" y="{y + BOX_H / 2 + 4:.0f}" text-anchor="middle"'
            f"{small}>"
            f"{escape(_clip(n.label))}</text></g>"
        )
        link = href(n.view_id) if n.view_id and n.kind != "view" else None
        out.append(f'<a href="{escape(link)}">{box}</a>' if link else box)
    out.append("</svg>")
    return "".join(out)
