"""`fsync check`: metadata validation, version locks, deprecations and leakage of every declared training set.

A training set declares itself in its YAML (docs/registry.md):

    config:
      meta:
        training_set:
          label_timestamp: label_ts
          feature_timestamps: [purchase__feature_ts, session__feature_ts]

and is leakage-free when no row has a matched feature timestamp after its label timestamp (queried on the
warehouse). Errors fail the check (exit 1); warnings (unlocked or deprecated versions) do not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fsync.lineage import Lineage, Node
from fsync.locks import LOCK_FILE, compare, deprecations
from fsync.meta_schema import Problem, validate
from fsync.warehouse import Reader, quote

TRAINING_SET_KEYS = ("label_timestamp", "feature_timestamps", "entity_keys")


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # what was looked at: feature views, locks, ...

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "warning"]

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "checked": self.checked,
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
        }


def training_set_spec(node: Node) -> tuple[dict[str, Any], list[Problem]]:
    spec = node.meta.get("training_set")
    problems: list[Problem] = []

    def add(key: str, message: str, fix: str) -> None:
        problems.append(Problem(node.label, f"meta.training_set.{key}", message, fix, node.yaml_path))

    if not isinstance(spec, dict):
        add("", "must be a mapping", "declare label_timestamp and feature_timestamps")
        return {}, problems
    for key in sorted(set(spec) - set(TRAINING_SET_KEYS)):
        add(key, "unknown key", f"remove it; known keys: {', '.join(TRAINING_SET_KEYS)}")
    if not isinstance(spec.get("label_timestamp"), str) or not spec.get("label_timestamp"):
        add("label_timestamp", "required key is missing", "add e.g. `label_timestamp: label_ts`")
    ts = spec.get("feature_timestamps")
    if not (isinstance(ts, list) and ts and all(isinstance(t, str) and t for t in ts)):
        add(
            "feature_timestamps",
            "required list of matched feature timestamp columns is missing",
            "add e.g. `feature_timestamps: [purchase__feature_ts]`",
        )
    return spec, problems


def leakage(lineage: Lineage, reader: Reader) -> list[Problem]:
    """One error per training set column with matched feature timestamps after the label timestamp."""
    problems: list[Problem] = []
    for node in lineage.training_sets():
        spec, bad = training_set_spec(node)
        problems += bad
        if bad:
            continue
        schema, table = node.schema or "", node.alias or node.name
        columns = reader.columns(schema, table)
        if not columns:
            problems.append(
                Problem(
                    node.label,
                    "relation",
                    f"{schema}.{table} does not exist in the warehouse",
                    "run `dbt build` before `fsync check`",
                    node.path,
                )
            )
            continue
        label_ts = spec["label_timestamp"]
        for col in [label_ts, *spec["feature_timestamps"]]:
            if col not in columns:
                problems.append(
                    Problem(
                        node.label,
                        f"columns.{col}",
                        f"{schema}.{table} has no column {col!r}",
                        "fix meta.training_set or the model",
                        node.yaml_path,
                    )
                )
        if any(c not in columns for c in [label_ts, *spec["feature_timestamps"]]):
            continue
        rel = f"{quote(schema)}.{quote(table)}"
        for col in spec["feature_timestamps"]:
            sql = f"select count(*), min({quote(label_ts)}) from {rel} where {quote(col)} > {quote(label_ts)}"
            row = reader.one(sql, [])
            count = int(row[0]) if row else 0
            if count:
                problems.append(
                    Problem(
                        node.label,
                        f"columns.{col}",
                        f"leaks: {count} row(s) matched a feature row with {col} after {label_ts}"
                        f" (first {label_ts} {row[1] if row else None})",
                        "build the training set with fstore.point_in_time_join / fstore.feature_view"
                        " (feature_ts <= label_ts), never a hand-written join",
                        node.path,
                    )
                )
    return problems


def run_check(
    lineage: Lineage, lock: dict[str, Any], today: date, reader: Reader | None, lock_file: str = LOCK_FILE
) -> CheckReport:
    """Every check; `reader` None skips the leakage check (reported in `checked`)."""
    report = CheckReport()
    report.problems += validate(lineage)
    report.problems += compare(lineage, lock, lock_file)
    report.problems += deprecations(lineage, today)
    report.checked = {
        "feature_views": len(lineage.feature_views()),
        "locked_versions": len(lock.get("views") or {}),
        "exposures": len(lineage.exposures()),
        "training_sets": len(lineage.training_sets()) if reader is not None else 0,
    }
    if reader is not None:
        report.problems += leakage(lineage, reader)
    return report
