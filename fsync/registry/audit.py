"""Migration audits: a team's legacy feature table against the canonical feature at the same
(entity, timestamp) points, and the rule that explains the difference (docs/audit.md).

The canonical value at a legacy point is the feature view's own model evaluated at that point: fsync
re-renders the model's SQL with `dbt compile --inline`, `fstore.rolling_agg` replaced by
`fstore._audit_rolling_agg` (the same macro, its spine the legacy points), once per variant. A variant is a
set of alternative rules; each rule changes one argument of the canonical macros (only `calendar_month`, not
a duration, is hand-rolled SQL, and says so). One compile renders every variant; its SQL is cached under the
target path like training sets.

Classification is a greedy search: every single rule first, then the best set grown by one rule while that
reproduces more legacy rows, at most three rules.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from fsync.errors import FsyncError
from fsync.manifest import FeatureViewSpec, Manifest
from fsync.manifest.names import did_you_mean
from fsync.registry.training_set import compile_inline
from fsync.warehouse import Reader, quote

MAX_RULES = 3


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    canonical_macro: (
        bool  # recomputed with the canonical macros and a changed argument (else hand-rolled SQL)
    )


RULES: tuple[Rule, ...] = (
    Rule("end_inclusive", "window end inclusive: (t - W, t] instead of [t - W, t)", True),
    Rule("local_time_zone", "local time zone: the timestamp is a wall time of the local zone, not UTC", True),
    Rule(
        "no_dedup", "line items counted as delivered: every version of an order line counts (no dedup)", True
    ),
    Rule("final_data", "today's data instead of the data known at the time (as_known_at ignored)", True),
    Rule("null_counted", "NULLs counted: count(column) counted as count(*)", True),
    Rule("calendar_month", "calendar month to date instead of the rolling window", False),
    Rule("wall_clock_anchor", "computed at the midnight before the timestamp (a nightly cache)", True),
)
RULE_NAMES = tuple(r.name for r in RULES)
_EXCLUSIVE = (frozenset({"no_dedup", "final_data"}),)


@dataclass(frozen=True)
class Legacy:
    """The legacy relation and the columns the audit reads from it."""

    relation: str  # as SQL (quoted)
    label: str
    keys: tuple[str, ...]  # one legacy column per entity key of the view, in the view's order
    timestamp: str
    value: str


@dataclass(frozen=True)
class AuditRequest:
    feature: str  # VIEW:FEATURE as given
    legacy: str  # RELATION as given
    keys: tuple[str, ...] = ()
    timestamp: str | None = None
    column: str | None = None
    time_zone: str = "America/Los_Angeles"
    threshold: float = 0.99
    tolerance: float = 1e-9
    top: int = 10


@dataclass(frozen=True)
class CompileContext:
    project_dir: Path
    target: str | None
    profiles_dir: str | None
    cache_dir: Path


def resolve_feature(manifest: Manifest, text: str) -> tuple[FeatureViewSpec, str]:
    view, feature = manifest.feature(text)
    raw = manifest.node(view.unique_id).raw_code or ""
    if "rolling_agg" not in raw:
        raise FsyncError(
            f"--feature {text!r}: {view.label} is not built with fstore.rolling_agg; the audit recomputes"
            " rolling-window features only."
        )
    return view, feature


def resolve_legacy(
    manifest: Manifest, reader: Reader, request: AuditRequest, view: FeatureViewSpec, feature: str
) -> tuple[Legacy, dict[str, str]]:
    """The legacy relation (a model or seed name, or schema.table) and its columns, or a one-line user
    error."""
    text = request.legacy
    nodes = [n for n in manifest.graph.nodes.values() if n.kind in ("model", "seed", "source")]
    node = next((n for n in nodes if n.name == text and n.schema and n.alias), None)
    if node is not None:
        schema, table = str(node.schema), str(node.alias)
    elif "." in text:
        schema, table = text.rsplit(".", 1)
    else:
        schema, table = view.schema, text
    columns = reader.columns(schema, table)
    if not columns:
        known = sorted({n.name for n in nodes})
        raise FsyncError(
            f"--legacy {text!r}: no such relation in the warehouse (looked for {schema}.{table}); name a"
            f" built model or seed, or schema.table.{did_you_mean(text, known)}"
        )
    names = list(columns)
    keys = request.keys or view.entity_keys
    if len(keys) != len(view.entity_keys):
        raise FsyncError(
            f"--keys {','.join(keys)}: {view.label} has {len(view.entity_keys)} entity key(s)"
            f" ({', '.join(view.entity_keys)}); pass one legacy column per key, in that order."
        )
    timestamp = request.timestamp or view.timestamp
    value = request.column or feature
    for option, column in [*(("--keys", k) for k in keys), ("--timestamp", timestamp), ("--column", value)]:
        if column not in columns:
            raise FsyncError(
                f"{option} {column!r}: {text} has no such column (its columns: {', '.join(names)})."
                f"{did_you_mean(column, names)}"
            )
    relation = ".".join(quote(p) for p in (schema, table))
    return Legacy(relation, text, tuple(keys), timestamp, value), columns


def _fstore_names(raw_code: str) -> list[str]:
    return sorted(set(re.findall(r"\bfstore\.([A-Za-z_]\w*)", raw_code)) - {"rolling_agg"})


def all_variants() -> list[tuple[str, ...]]:
    """Every rule set the search may try: the canonical one (), then one, two and three alternative rules."""
    out: list[tuple[str, ...]] = [()]
    frontier: list[tuple[str, ...]] = [()]
    for _ in range(MAX_RULES):
        frontier = sorted(
            {c for base in frontier for c in _candidates(base)},
            key=lambda r: [RULE_NAMES.index(n) for n in r],
        )
        out += frontier
    return out


def _marker(i: int | str) -> str:
    return f"/*fsync-audit-variant {i}*/"


def variants_template(
    raw_code: str, view: FeatureViewSpec, feature: str, variants: list[tuple[str, ...]]
) -> str:
    """One template rendering, per variant, the join of the legacy rows `l` to the canonical model re-rendered
    under the variant's rules, each after its marker: fsync assembles the queries from these pieces, so one
    `dbt compile` serves the whole search."""
    shadow = ", ".join(
        [f"'{n}': _audit_fstore.{n}" for n in _fstore_names(raw_code)]
        + ["'rolling_agg': _audit_fstore._audit_rolling_agg"]
    )
    point = "{{ _audit_fstore._audit_point('l._audit_ts') }}"
    on = " and ".join(
        f"v{{{{ _audit_i }}}}.{quote(k)} = l._audit_k{j}" for j, k in enumerate(view.entity_keys)
    )
    return "\n".join(
        [
            "{%- set _audit_fstore = fstore -%}",
            "{%- set _audit_state = var('fstore_audit') -%}",
            "{%- set fstore = {" + shadow + "} -%}",
            "{%- for rules in "
            + json.dumps([list(v) for v in variants])
            + " %}{% set _audit_i = loop.index0 %}",
            "{%- do _audit_state.update({'rules': rules}) %}",
            _marker("{{ _audit_i }}"),
            f"left join (select {', '.join(quote(k) for k in view.entity_keys)}, {quote(view.timestamp)} as"
            f" _audit_t, {quote(feature)} as _audit_value from (",
            raw_code,
            ") as m{{ _audit_i }}) as v{{ _audit_i }}",
            f"  on {on} and v{{{{ _audit_i }}}}._audit_t = {point}",
            "{%- endfor %}",
            _marker(len(variants)),
        ]
    )


def split_variants(compiled: str, n: int) -> list[str]:
    pieces = []
    for i in range(n):
        start = compiled.index(_marker(i)) + len(_marker(i))
        pieces.append(compiled[start : compiled.index(_marker(i + 1))])
    return pieces


def audit_query(legacy: Legacy, joins: list[tuple[int, str]]) -> str:
    """Every legacy row, its value, and the recomputed canonical value of each variant piece (`v<i>`)."""
    keys = [f"{quote(lk)} as _audit_k{i}" for i, lk in enumerate(legacy.keys)]
    select = "select l.*" + "".join(f", v{i}._audit_value as v{i}" for i, _ in joins)
    source = (
        f"from (select {', '.join(keys)}, {quote(legacy.timestamp)} as _audit_ts,"
        f" {quote(legacy.value)} as _audit_legacy from {legacy.relation}) as l"
    )
    # The same row order in every query of an audit: rows equal in all these are equal in every variant too.
    order = "order by " + ", ".join(
        [*(f"l._audit_k{i}" for i in range(len(keys))), "l._audit_ts", "l._audit_legacy"]
    )
    return "\n".join([select, source, *(piece for _, piece in joins), order])


def compile_cached(
    template: str, dbt_vars: dict[str, Any], manifest: Manifest, ctx: CompileContext, warehouse_kind: str
) -> str:
    identity = json.dumps([template, dbt_vars, ctx.target, manifest.generated_at, warehouse_kind])
    key = hashlib.sha256(identity.encode()).hexdigest()[:32]
    path = ctx.cache_dir / f"audit-{key}.sql"
    if path.is_file():
        return path.read_text()
    sql = compile_inline(template, ctx.project_dir.resolve(), ctx.target, ctx.profiles_dir, dbt_vars)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(sql)
    os.replace(tmp, path)
    return sql


def _number(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | Decimal):
        return float(value)
    raise FsyncError(f"the audit compares numbers; got {type(value).__name__} {value!r}.")


def _same(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))


def _quantiles(values: list[float], qs: tuple[float, ...]) -> dict[str, float | None]:
    s = sorted(values)
    out: dict[str, float | None] = {}
    for q in qs:
        if not s:
            out[f"p{round(q * 100)}"] = None
            continue
        pos = q * (len(s) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        out[f"p{round(q * 100)}"] = s[lo] + (s[hi] - s[lo]) * (pos - lo)
    return out


def psi(expected: list[float], actual: list[float], bins: int = 10) -> float | None:
    """Population stability index of `actual` against `expected`, on `expected`'s distinct decile edges (a
    share of 0 counts as 0.0001)."""
    if not expected or not actual:
        return None
    s = sorted(expected)
    edges = sorted({s[min(len(s) - 1, int(len(s) * i / bins))] for i in range(1, bins)})

    def shares(values: list[float]) -> list[float]:
        counts = [0] * (len(edges) + 1)
        for v in values:
            counts[bisect.bisect_right(edges, v)] += 1
        return [max(c / len(values), 1e-4) for c in counts]

    e, a = shares(expected), shares(actual)
    return sum((ai - ei) * math.log(ai / ei) for ei, ai in zip(e, a, strict=True))


def _distribution(values: list[float]) -> dict[str, Any]:
    mean = sum(values) / len(values) if values else None
    return {"count": len(values), "mean": mean, **_quantiles(values, (0.1, 0.25, 0.5, 0.75, 0.9))}


def _candidates(base: tuple[str, ...]) -> list[tuple[str, ...]]:
    out = []
    for name in RULE_NAMES:
        if name in base:
            continue
        rules = tuple(sorted((*base, name), key=RULE_NAMES.index))
        if any(pair <= set(rules) for pair in _EXCLUSIVE):
            continue
        out.append(rules)
    return out


class Auditor:
    """Runs the variant queries (one cached compile) and scores them against the legacy rows."""

    def __init__(
        self,
        manifest: Manifest,
        ctx: CompileContext,
        open_reader: Any,
        warehouse_kind: str,
        request: AuditRequest,
    ) -> None:
        self.manifest, self.ctx, self.open_reader = manifest, ctx, open_reader
        self.kind, self.request = warehouse_kind, request

    def run(self) -> dict[str, Any]:
        request = self.request
        view, feature = resolve_feature(self.manifest, request.feature)
        reader = self.open_reader()
        try:
            legacy, _ = resolve_legacy(self.manifest, reader, request, view, feature)
        finally:
            reader.close()
        raw = self.manifest.node(view.unique_id).raw_code or ""
        state = {
            "rules": [],
            "legacy": legacy.relation,
            "keys": [quote(k) for k in legacy.keys],
            "timestamp": quote(legacy.timestamp),
            "time_zone": request.time_zone,
        }
        scored: dict[tuple[str, ...], dict[str, Any]] = {}
        variants = all_variants()
        template = variants_template(raw, view, feature, variants)
        pieces = split_variants(
            compile_cached(template, {"fstore_audit": state}, self.manifest, self.ctx, self.kind),
            len(variants),
        )

        def evaluate(chosen: list[tuple[str, ...]]) -> list[tuple[Any, ...]]:
            sql = audit_query(legacy, [(variants.index(c), pieces[variants.index(c)]) for c in chosen])
            reader = self.open_reader()
            if reader.param == "%s":  # psycopg2 formats the SQL even without parameters
                sql = sql.replace("%", "%%")
            try:
                return [row for batch in reader.stream(sql, [], 50_000) for row in batch]
            finally:
                reader.close()

        first = [(), *((r,) for r in RULE_NAMES)]
        rows = evaluate(first)
        n_keys = len(legacy.keys)
        points = [(r[:n_keys], r[n_keys]) for r in rows]
        legacy_values = [_number(r[n_keys + 1]) for r in rows]
        canonical = [_number(r[n_keys + 2]) for r in rows]
        differing = [
            i
            for i, (a, b) in enumerate(zip(legacy_values, canonical, strict=True))
            if not _same(a, b, request.tolerance)
        ]

        def score(rules: tuple[str, ...], values: list[float | None]) -> None:
            tol = request.tolerance
            matched = sum(_same(a, b, tol) for a, b in zip(legacy_values, values, strict=True))
            explained = sum(_same(legacy_values[i], values[i], tol) for i in differing)
            changed = sum(not _same(a, b, tol) for a, b in zip(canonical, values, strict=True))
            scored[rules] = {
                "rules": list(rules),
                "match_rate": matched / len(rows) if rows else 1.0,
                "explained": explained / len(differing) if differing else None,
                "explained_rows": explained,
                "changed_rows": changed,
            }

        for j, rules in enumerate(first[1:]):
            score(rules, [_number(r[n_keys + 3 + j]) for r in rows])
        best = max((scored[(r,)] for r in RULE_NAMES), key=lambda s: s["match_rate"])
        base = tuple(best["rules"])
        while differing and len(base) < MAX_RULES and best["match_rate"] < 1.0:
            candidates = [c for c in _candidates(base) if c not in scored]
            if not candidates:
                break
            grown = evaluate(candidates)
            for j, rules in enumerate(candidates):
                score(rules, [_number(r[n_keys + 2 + j]) for r in grown])
            top = max((scored[c] for c in candidates), key=lambda s: s["match_rate"])
            if top["match_rate"] <= best["match_rate"]:
                break
            best, base = top, tuple(top["rules"])

        return self._report(view, feature, legacy, points, legacy_values, canonical, differing, scored, best)

    def _report(
        self,
        view: FeatureViewSpec,
        feature: str,
        legacy: Legacy,
        points: list[Any],
        legacy_values: list[float | None],
        canonical: list[float | None],
        differing: list[int],
        scored: dict[tuple[str, ...], dict[str, Any]],
        best: dict[str, Any],
    ) -> dict[str, Any]:
        request = self.request
        total = len(points)
        match_rate = (total - len(differing)) / total if total else 1.0
        lv = [v for v in legacy_values if v is not None]
        cv = [v for v in canonical if v is not None]
        worst = sorted(
            differing,
            key=lambda i: (
                -(
                    abs((legacy_values[i] or 0.0) - (canonical[i] or 0.0))
                    + (1e18 if (legacy_values[i] is None) != (canonical[i] is None) else 0.0)
                )
            ),
        )[: request.top]
        by_name = {r.name: r for r in RULES}
        rules_report = []
        for r in RULES:
            s = scored[(r.name,)]
            rules_report.append(
                {
                    "rule": r.name,
                    "description": r.description,
                    "recomputed_with": "canonical macros"
                    if r.canonical_macro
                    else "hand-rolled SQL, not canonical",
                    "match_rate": s["match_rate"],
                    "explained": s["explained"],
                    "no_effect": s["changed_rows"] == 0,
                }
            )
        matches = match_rate >= request.threshold
        cause: dict[str, Any] | None = None
        if differing:
            cause = {
                "rules": best["rules"],
                "description": "; ".join(by_name[n].description for n in best["rules"]),
                "match_rate": best["match_rate"],
                "explained": best["explained"],
                "unexplained_rows": len(differing) - best["explained_rows"],
            }
        return {
            "legacy": legacy.label,
            "feature": f"{view.label}:{feature}",
            "keys": dict(zip(view.entity_keys, legacy.keys, strict=True)),
            "timestamp": legacy.timestamp,
            "column": legacy.value,
            "rows": total,
            "matching_rows": total - len(differing),
            "match_rate": match_rate,
            "threshold": request.threshold,
            "passed": matches,
            "distribution": {
                "legacy": _distribution(lv),
                "canonical": _distribution(cv),
                "psi": psi(cv, lv),
                "legacy_nulls": len(legacy_values) - len(lv),
                "canonical_nulls": len(canonical) - len(cv),
            },
            "worst": [
                {
                    "key": dict(zip(view.entity_keys, points[i][0], strict=True)),
                    "timestamp": points[i][1],
                    "legacy": legacy_values[i],
                    "canonical": canonical[i],
                    "difference": None
                    if legacy_values[i] is None or canonical[i] is None
                    else legacy_values[i] - canonical[i],
                }
                for i in worst
            ],
            "rules": rules_report,
            "combinations": [s for k, s in scored.items() if len(k) > 1],
            "likely_cause": cause,
            "time_zone": request.time_zone,
        }
