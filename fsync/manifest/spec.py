"""The feature-view spec: `config.meta.feature_view` of a model version, parsed and validated once.

Every command (push, views, get, check, features, impact, training-set, catalog) reads feature views through
`FeatureViewSpec`; the macros validate the same schema at compile time
(macros/_internal/_feature_view_spec.sql), and tests/python/test_spec_agreement.py proves that both accept
and reject the same metadata.

    feature_view:
      entity_keys: [user_id]       # required, contract columns
      timestamp: feature_ts        # required, a contract column
      ttl: 2d                      # required duration
      freshness_sla: 26h           # required duration
      owner: team@example.com      # required
      online: true                 # required
      created_timestamp: null      # optional tie-breaker column
      tags: [purchases]            # optional

A spec with problems keeps its problems (`spec.problems`): push refuses it and `fsync check` reports it, with
the same one-line message. `publishing_problems` adds the registry's documentation rules (enforced contract,
typed and described feature columns), which `fsync check` enforces but which do not make a spec unusable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fsync.manifest.graph import Node
from fsync.timeutil import DURATION_UNITS, duration_seconds

REQUIRED = ("entity_keys", "timestamp", "ttl", "freshness_sla", "owner", "online")
OPTIONAL = ("created_timestamp", "tags")
KEYS = REQUIRED + OPTIONAL
EXAMPLES = {
    "entity_keys": "entity_keys: [user_id]",
    "timestamp": "timestamp: feature_ts",
    "ttl": "ttl: 2d",
    "freshness_sla": "freshness_sla: 26h",
    "owner": "owner: team@example.com",
    "online": "online: true",
    "created_timestamp": "created_timestamp: created_ts",
    "tags": "tags: [purchases]",
}
TRAINING_SET_KEYS = ("label_timestamp", "feature_timestamps", "entity_keys")


@dataclass(frozen=True)
class Problem:
    model: str  # display label: name or name@N
    key: str  # meta key or column, e.g. `meta.feature_view.ttl`, `columns.amount_sum_30d.description`
    message: str
    fix: str
    yaml: str | None = None  # the file to edit
    level: str = "error"  # error | warning

    def __str__(self) -> str:
        where = f" (in {self.yaml})" if self.yaml else ""
        return f"{self.model}: {self.key}: {self.message}; fix: {self.fix}{where}"

    def to_dict(self) -> dict[str, str | None]:
        return {
            "level": self.level,
            "model": self.model,
            "key": self.key,
            "message": self.message,
            "fix": self.fix,
            "file": self.yaml,
        }


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str | None
    description: str = ""


@dataclass(frozen=True)
class FeatureViewSpec:
    unique_id: str
    name: str
    version: int | None
    latest_version: int | None
    database: str | None
    schema: str
    alias: str
    entity_keys: tuple[str, ...]
    timestamp: str
    created_timestamp: str | None
    ttl: str  # as declared, e.g. "2d" ("" when invalid)
    ttl_seconds: int  # 0 when invalid (see problems)
    freshness_sla: str
    freshness_sla_seconds: int | None
    owner: str
    online: bool
    tags: tuple[str, ...]
    columns: tuple[Column, ...]
    contract_enforced: bool
    description: str = ""
    deprecation_date: str | None = None
    yaml_path: str | None = None
    sql_path: str | None = None
    test_ids: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        """The canonical display of a view version: `name`, or `name@N`."""
        return self.name if self.version is None else f"{self.name}@{self.version}"

    @property
    def is_latest(self) -> bool:
        return self.version is None or self.version == self.latest_version

    @property
    def store_id(self) -> str:
        """The view's name in the online store: versions live side by side."""
        return f"{self.name}:v{self.version}" if self.version is not None else f"{self.name}:_"

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.alias}"

    @property
    def system_columns(self) -> tuple[str, ...]:
        return (
            self.entity_keys
            + (self.timestamp,)
            + ((self.created_timestamp,) if self.created_timestamp else ())
        )

    @property
    def features(self) -> tuple[Column, ...]:
        """The contract's feature columns: every column but the keys and timestamps."""
        system = {c.lower() for c in self.system_columns}
        return tuple(c for c in self.columns if c.name.lower() not in system)

    @property
    def usable(self) -> bool:
        return not self.problems

    def problem_text(self) -> str:
        return "; ".join(str(p) for p in self.problems)


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i]
        for j in range(1, len(b) + 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])))
        prev = cur
    return prev[-1]


def closest(word: str, known: Iterable[str], max_distance: int = 2) -> str | None:
    """The known word closest to `word` (edit distance at most `max_distance`, first on ties), or None."""
    best, distance = None, max_distance + 1
    for k in known:
        d = _edit_distance(word, k)
        if d < distance:
            best, distance = k, d
    return best


def _unique(values: list[Any]) -> list[Any]:
    # dbt appends a version's meta lists to the model's: drop the repeats, keep the order
    return list(dict.fromkeys(values))


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _missing(value: Any) -> bool:
    return value is None or value == "" or (_is_list(value) and len(value) == 0)


def meta_problems(node: Node) -> list[tuple[str, str, str]]:
    """(key, message, fix) for every problem of the node's meta.feature_view; the same rules, in the same
    order, as the macro `fstore._feature_view_problems`."""
    meta = node.meta.get("feature_view")
    out: list[tuple[str, str, str]] = []
    if not isinstance(meta, dict):
        fix = "declare entity_keys, timestamp, ttl, freshness_sla, owner and online as in docs/registry.md"
        return [("meta.feature_view", "must be a mapping", fix)]
    for key in sorted(str(k) for k in meta):
        if key not in KEYS:
            close = closest(key, KEYS)
            hint = f"did you mean `{close}`? " if close else ""
            out.append(
                (
                    f"meta.feature_view.{key}",
                    "unknown key",
                    f"{hint}remove or rename it; known keys: {', '.join(KEYS)}",
                )
            )
    for key in REQUIRED:
        if _missing(meta.get(key)):
            out.append((f"meta.feature_view.{key}", "required key is missing", f"add `{EXAMPLES[key]}`"))
    # Key and timestamp columns must be contract columns; without an enforced contract the declared columns
    # are documentation only (publishing_problems reports the unenforced contract).
    columns = [c[0] for c in node.columns] if node.contract_enforced else []
    keys = meta.get("entity_keys")
    if not _missing(keys):
        if not _is_list(keys) or not all(isinstance(k, str) for k in keys) or "" in keys:
            out.append(
                (
                    "meta.feature_view.entity_keys",
                    f"is {_json(keys)}, not a list of column names",
                    "write e.g. `entity_keys: [user_id]`",
                )
            )
        else:
            for k in _unique(list(keys)):
                if columns and k not in columns:
                    out.append(
                        (
                            "meta.feature_view.entity_keys",
                            f"names {_json(k)}, which is not a contract column",
                            f"use one of {', '.join(columns)} or add the column to the model's `columns`",
                        )
                    )
    for key in ("timestamp", "created_timestamp"):
        value = meta.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            out.append(
                (
                    f"meta.feature_view.{key}",
                    f"is {_json(value)}, not a column name",
                    f"write e.g. `{key}: feature_ts`",
                )
            )
        elif columns and value not in columns:
            out.append(
                (
                    f"meta.feature_view.{key}",
                    f"names {_json(value)}, which is not a contract column",
                    f"use one of {', '.join(columns)}",
                )
            )
    for key in ("ttl", "freshness_sla"):
        value = meta.get(key)
        if value is not None and value != "" and duration_seconds(value) is None:
            out.append(
                (
                    f"meta.feature_view.{key}",
                    f"is {_json(value)}, not a duration",
                    f"write {DURATION_UNITS}, e.g. `{EXAMPLES[key]}`",
                )
            )
    owner = meta.get("owner")
    if owner is not None and owner != "" and not isinstance(owner, str):
        out.append(
            (
                "meta.feature_view.owner",
                f"is {_json(owner)}, not a text",
                "write e.g. `owner: team@example.com`",
            )
        )
    online = meta.get("online")
    if online is not None and not isinstance(online, bool):
        out.append(
            (
                "meta.feature_view.online",
                f"is {_json(online)}, not true/false",
                "write `online: true` or `online: false`",
            )
        )
    tags = meta.get("tags")
    if tags is not None and not (_is_list(tags) and all(isinstance(t, str) for t in tags)):
        out.append(
            (
                "meta.feature_view.tags",
                f"is {_json(tags)}, not a list of texts",
                "write e.g. `tags: [purchases]`",
            )
        )
    return out


def _json(value: Any) -> str:
    """A value as the macros' `tojson` filter shows it (sorted keys, ASCII, HTML-safe), so that dbt and fsync
    print the same problem lines."""
    try:
        text = json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027")
    )


def parse_feature_view(node: Node, test_ids: Iterable[str] = ()) -> FeatureViewSpec:
    """The spec of a model version with `config.meta.feature_view` (problems kept, never raised)."""
    meta = node.meta.get("feature_view")
    meta = meta if isinstance(meta, dict) else {}
    label = node.label
    problems = tuple(Problem(label, k, m, f, node.yaml_path) for k, m, f in meta_problems(node))
    keys = meta.get("entity_keys")
    keys = tuple(_unique(list(keys))) if _is_list(keys) and all(isinstance(k, str) for k in keys) else ()
    ttl = meta.get("ttl") if isinstance(meta.get("ttl"), str) else ""
    sla = meta.get("freshness_sla") if isinstance(meta.get("freshness_sla"), str) else ""
    tags = meta.get("tags") if _is_list(meta.get("tags")) else []
    created = meta.get("created_timestamp")
    return FeatureViewSpec(
        unique_id=node.unique_id,
        name=node.name,
        version=node.version,
        latest_version=node.latest_version,
        database=node.database,
        schema=node.schema or "",
        alias=node.alias or node.name,
        entity_keys=keys,
        timestamp=meta["timestamp"] if isinstance(meta.get("timestamp"), str) else "",
        created_timestamp=created if isinstance(created, str) and created else None,
        ttl=ttl if duration_seconds(ttl) else "",
        ttl_seconds=duration_seconds(ttl) or 0,
        freshness_sla=sla if duration_seconds(sla) else "",
        freshness_sla_seconds=duration_seconds(sla),
        owner=meta["owner"] if isinstance(meta.get("owner"), str) else "",
        online=meta.get("online") is True,
        tags=tuple(_unique([str(t) for t in tags])),
        columns=tuple(Column(n, t, d) for n, t, d in node.columns),
        contract_enforced=node.contract_enforced,
        description=" ".join(node.description.split()),
        deprecation_date=node.deprecation_date[:10] if node.deprecation_date else None,
        yaml_path=node.yaml_path,
        sql_path=node.path,
        test_ids=tuple(test_ids),
        problems=problems,
    )


def publishing_problems(spec: FeatureViewSpec) -> list[Problem]:
    """The registry's documentation rules for a published view (reported by `fsync check`)."""
    problems: list[Problem] = []

    def add(key: str, message: str, fix: str) -> None:
        problems.append(Problem(spec.label, key, message, fix, spec.yaml_path))

    if not spec.contract_enforced:
        add(
            "config.contract.enforced",
            "the contract is not enforced",
            "add `contract: {enforced: true}` to the model's config and declare every column's data_type",
        )
    if not spec.columns:
        add("columns", "no columns are declared", "declare every column with name, data_type and description")
    for col in spec.features:
        if not col.description.strip():
            add(
                f"columns.{col.name}.description",
                "feature column has no description",
                f"add `description: ...` to column {col.name} (what it counts, its window, NULL meaning)",
            )
        if not col.data_type:
            add(
                f"columns.{col.name}.data_type",
                "feature column has no data_type",
                f"add `data_type: ...` to column {col.name} (the enforced contract needs it)",
            )
    return problems


@dataclass(frozen=True)
class TrainingSetSpec:
    """`config.meta.training_set` of a training-set model: what `fsync check` tests for leakage."""

    node: Node
    label_timestamp: str
    feature_timestamps: tuple[str, ...]
    entity_keys: tuple[str, ...]
    problems: tuple[Problem, ...] = ()


def parse_training_set(node: Node) -> TrainingSetSpec:
    spec = node.meta.get("training_set")
    problems: list[Problem] = []

    def add(key: str, message: str, fix: str) -> None:
        problems.append(
            Problem(node.label, f"meta.training_set.{key}".rstrip("."), message, fix, node.yaml_path)
        )

    if not isinstance(spec, dict):
        add("", "must be a mapping", "declare label_timestamp and feature_timestamps")
        return TrainingSetSpec(node, "", (), (), tuple(problems))
    for key in sorted(set(spec) - set(TRAINING_SET_KEYS)):
        add(key, "unknown key", f"remove it; known keys: {', '.join(TRAINING_SET_KEYS)}")
    label_ts = spec.get("label_timestamp")
    if not isinstance(label_ts, str) or not label_ts:
        add("label_timestamp", "required key is missing", "add e.g. `label_timestamp: label_ts`")
    ts = spec.get("feature_timestamps")
    if not (_is_list(ts) and ts and all(isinstance(t, str) and t for t in ts)):
        add(
            "feature_timestamps",
            "required list of matched feature timestamp columns is missing",
            "add e.g. `feature_timestamps: [purchase__feature_ts]`",
        )
    keys = spec.get("entity_keys")
    return TrainingSetSpec(
        node=node,
        label_timestamp=label_ts if isinstance(label_ts, str) else "",
        feature_timestamps=tuple(ts) if _is_list(ts) else (),
        entity_keys=tuple(_unique(list(keys))) if _is_list(keys) else (),
        problems=tuple(problems),
    )
