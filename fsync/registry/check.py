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

from fsync.manifest import Manifest, Problem
from fsync.manifest.spec import publishing_problems
from fsync.registry.locks import LOCK_FILE, compare, deprecations
from fsync.warehouse import Reader, quote


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


def leakage(manifest: Manifest, reader: Reader) -> list[Problem]:
    """One error per training set column with matched feature timestamps after the label timestamp."""
    problems: list[Problem] = []
    for spec in manifest.training_sets:
        node = spec.node
        if spec.problems:
            continue  # reported by validate()
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
        label_ts = spec.label_timestamp
        for col in [label_ts, *spec.feature_timestamps]:
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
        if any(c not in columns for c in [label_ts, *spec.feature_timestamps]):
            continue
        rel = f"{quote(schema)}.{quote(table)}"
        for col in spec.feature_timestamps:
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


def validate(manifest: Manifest) -> list[Problem]:
    """Every spec problem (the same lines push gives), the publishing rules, and training-set specs."""
    problems: list[Problem] = []
    for view in manifest.views:
        problems += view.problems
        problems += publishing_problems(view)
    for spec in manifest.training_sets:
        problems += spec.problems
    return problems


def run_check(
    manifest: Manifest, lock: dict[str, Any], today: date, reader: Reader | None, lock_file: str = LOCK_FILE
) -> CheckReport:
    """Every check; `reader` None skips the leakage check (reported in `checked`)."""
    report = CheckReport()
    report.problems += validate(manifest)
    report.problems += compare(manifest, lock, lock_file)
    report.problems += deprecations(manifest, today)
    report.checked = {
        "feature_views": len(manifest.views),
        "locked_versions": len(lock.get("views") or {}),
        "exposures": len(manifest.graph.exposures()),
        "training_sets": len(manifest.training_sets) if reader is not None else 0,
    }
    if reader is not None:
        report.problems += leakage(manifest, reader)
    return report
