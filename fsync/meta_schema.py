"""Problems found by `fsync check`, and the validation of `config.meta.feature_view` on every published
feature view (docs/registry.md).

dbt does not validate meta keys, so a typo (`tll: 2d`) would silently drop a TTL. `validate(lineage)` returns
one `Problem` per violation, each naming the model (with version), the key and the fix.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from fsync.lineage import Lineage, Node

REQUIRED = ("entity_keys", "timestamp", "ttl", "freshness_sla", "owner", "online")
OPTIONAL = ("created_timestamp", "tags")
KEYS = REQUIRED + OPTIONAL
DURATION = re.compile(r"[1-9][0-9]*[dhms]")
EXAMPLES = {
    "entity_keys": "entity_keys: [user_id]",
    "timestamp": "timestamp: feature_ts",
    "ttl": "ttl: 2d",
    "freshness_sla": "freshness_sla: 26h",
    "owner": "owner: team@example.com",
    "online": "online: true",
}


@dataclass(frozen=True)
class Problem:
    model: str  # label: name or name.vN
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


def _dedup(value: object) -> object:
    # dbt appends a version's meta lists to the model's: drop the repeats
    return list(dict.fromkeys(value)) if isinstance(value, list) else value


def validate_view(node: Node) -> list[Problem]:
    yaml = node.yaml_path
    problems: list[Problem] = []

    def add(key: str, message: str, fix: str) -> None:
        problems.append(Problem(node.label, key, message, fix, yaml))

    meta = node.meta.get("feature_view")
    if not isinstance(meta, dict):
        add("meta.feature_view", "must be a mapping", "declare it as in docs/registry.md")
        return problems
    for key in sorted(set(meta) - set(KEYS)):
        close = difflib.get_close_matches(str(key), KEYS, n=1, cutoff=0.6)
        hint = f"did you mean `{close[0]}`? " if close else ""
        add(
            f"meta.feature_view.{key}",
            "unknown key",
            f"{hint}remove or rename it; known keys: {', '.join(KEYS)}",
        )
    for key in REQUIRED:
        if meta.get(key) is None or meta.get(key) == "" or meta.get(key) == []:
            add(f"meta.feature_view.{key}", "required key is missing", f"add `{EXAMPLES[key]}`")
    columns = [c[0] for c in node.columns]
    keys = _dedup(meta.get("entity_keys"))
    if keys is not None and keys != []:
        if not (isinstance(keys, list) and all(isinstance(k, str) and k for k in keys)):
            add(
                "meta.feature_view.entity_keys",
                f"is {keys!r}, not a list of column names",
                "write e.g. `entity_keys: [user_id]`",
            )
        else:
            for k in keys:
                if columns and k not in columns:
                    add(
                        "meta.feature_view.entity_keys",
                        f"names {k!r}, which is not a contract column",
                        f"use one of {', '.join(columns)} or add the column to the model's `columns`",
                    )
    for key in ("timestamp", "created_timestamp"):
        value = meta.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            add(
                f"meta.feature_view.{key}",
                f"is {value!r}, not a column name",
                f"write e.g. `{key}: feature_ts`",
            )
        elif columns and value not in columns:
            add(
                f"meta.feature_view.{key}",
                f"names {value!r}, which is not a contract column",
                f"use one of {', '.join(columns)}",
            )
    for key in ("ttl", "freshness_sla"):
        value = meta.get(key)
        if value is None or value == "":
            continue
        if not (isinstance(value, str) and DURATION.fullmatch(value.strip())):
            add(
                f"meta.feature_view.{key}",
                f"is {value!r}, not a duration",
                f"write a positive <integer><unit> with unit d, h, m or s, e.g. `{EXAMPLES[key]}`",
            )
    owner = meta.get("owner")
    if owner is not None and owner != "" and not isinstance(owner, str):
        add("meta.feature_view.owner", f"is {owner!r}, not a text", "write e.g. `owner: team@example.com`")
    online = meta.get("online")
    if online is not None and not isinstance(online, bool):
        add(
            "meta.feature_view.online",
            f"is {online!r}, not true/false",
            "write `online: true` or `online: false`",
        )
    tags = meta.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        add("meta.feature_view.tags", f"is {tags!r}, not a list of texts", "write e.g. `tags: [purchases]`")
    if not node.contract_enforced:
        add(
            "config.contract.enforced",
            "the contract is not enforced",
            "add `contract: {enforced: true}` to the model's config and declare every column's data_type",
        )
    if not columns:
        add("columns", "no columns are declared", "declare every column with name, data_type and description")
    system = set(keys if isinstance(keys, list) else []) | {meta.get("timestamp")}
    for name, data_type, description in node.columns:
        if name in system:
            continue
        if not description.strip():
            add(
                f"columns.{name}.description",
                "feature column has no description",
                f"add `description: ...` to column {name} (what it counts, its window, NULL meaning)",
            )
        if not data_type:
            add(
                f"columns.{name}.data_type",
                "feature column has no data_type",
                f"add `data_type: ...` to column {name} (the enforced contract needs it)",
            )
    return problems


def validate(lineage: Lineage) -> list[Problem]:
    problems: list[Problem] = []
    for node in lineage.feature_views():
        problems.extend(validate_view(node))
    return problems
