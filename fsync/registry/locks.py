"""Version locks: a published feature-view version must not change in place (docs/registry.md).

Each feature view (every model version with meta.feature_view) is fingerprinted as
- its contract: the ordered column names and data types, and
- the sha256 of its normalised compiled SQL (manifest `compiled_code`, i.e. after `dbt compile|run|build`):
  every relation dbt rendered (`"db"."schema"."stg_users"`) is replaced by a placeholder naming the node, so
  the database file name and schema do not matter; then sqlglot re-renders it without comments or layout, so
  whitespace, comments and keyword case do not matter either. The SQL is the compiled one, not the Jinja
  source, because a macro change alters what a published version computes just as an edit of its file does.
  Compiled SQL is adapter-specific, so the SQL fingerprint is recorded per adapter (duckdb, postgres).

The lock file (`fstore.lock.json` in the dbt project's directory, committed) maps each version's canonical
label (`name@N`) to those fingerprints.
`write_lock` records the current manifest (`fsync lock`); `compare` reports a changed locked version as an
error, and a version not yet locked (for this adapter) as a warning. `deprecations` warns for every exposure
using a version that has a `deprecation_date`.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import sqlglot

from fsync.errors import FsyncError
from fsync.manifest import FeatureViewSpec, Manifest, Problem
from fsync.manifest.graph import Node

LOCK_FILE = "fstore.lock.json"
LOCK_FORMAT = 1
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


def normalised_sql(node: Node, manifest: Manifest) -> str:
    if not node.compiled_code:
        raise FsyncError(
            f"{node.label} has no compiled SQL in manifest.json; run `dbt compile` (or build) first."
        )
    sql = node.compiled_code
    relations = sorted(
        ((n.relation, n) for n in manifest.graph.nodes.values() if n.relation), key=lambda r: -len(r[0] or "")
    )
    for relation, other in relations:
        if relation and relation in sql:
            placeholder = "__fstore_ref__" + re.sub(r"\W", "_", _legacy_label(other))
            sql = sql.replace(relation, placeholder)
    dialect = manifest.adapter_type if manifest.adapter_type in ("duckdb", "postgres") else None
    try:
        statements = sqlglot.parse(sql, read=dialect)
        return ";".join(s.sql(dialect=dialect, comments=False) for s in statements if s is not None)
    except sqlglot.errors.SqlglotError:
        # Unparseable dialect corner: fall back to comment- and whitespace-insensitive text.
        return " ".join(_COMMENTS.sub(" ", sql).split())


def _legacy_label(node: Node) -> str:
    # The placeholder keeps the spelling fingerprints were first recorded with (`name.vN`), so that renaming
    # the display form did not change any fingerprint.
    return node.name if node.version is None else f"{node.name}.v{node.version}"


def contract(view: FeatureViewSpec) -> list[str]:
    """`<column> <data type>` in contract order (`?` for a column without data_type)."""
    return [f"{c.name} {' '.join((c.data_type or '?').lower().split())}" for c in view.columns]


def sql_sha256(view: FeatureViewSpec, manifest: Manifest) -> str:
    return hashlib.sha256(normalised_sql(manifest.node(view.unique_id), manifest).encode()).hexdigest()


def lock_path(project_dir: Path) -> Path:
    return project_dir / LOCK_FILE


def read_lock(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"format": LOCK_FORMAT, "views": {}}
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise FsyncError(
            f"{path} is not valid JSON ({exc}); restore it from git or rerun `fsync lock`."
        ) from None
    if (
        not isinstance(doc, dict)
        or doc.get("format") != LOCK_FORMAT
        or not isinstance(doc.get("views"), dict)
    ):
        raise FsyncError(f"{path} is not an fsync lock file of format {LOCK_FORMAT}.")
    return doc


def write_lock(path: Path, manifest: Manifest, only: list[str] | None = None) -> list[str]:
    """Record the fingerprints of the manifest's feature views (all, or the labels in `only`).

    Entries of other adapters are kept; entries of views no longer in the manifest are dropped when every view
    is locked. Returns the labels whose entry changed.
    """
    doc = read_lock(path)
    views: dict[str, Any] = doc["views"]
    current = {v.label: v for v in manifest.views}
    chosen = {v.label for text in only or [] for v in manifest.views_named(text)}
    changed: list[str] = []
    for label, view in current.items():
        if only and label not in chosen:
            continue
        old = views.get(label) or {}
        new_contract = contract(view)
        sqls = dict(old.get("sql_sha256") or {}) if old.get("contract") == new_contract else {}
        sqls[manifest.adapter_type] = sql_sha256(view, manifest)
        entry = {
            "unique_id": view.unique_id,
            "contract": new_contract,
            "sql_sha256": dict(sorted(sqls.items())),
        }
        if entry != old:
            changed.append(label)
        views[label] = entry
    if not only:
        for label in [k for k in views if k not in current]:
            del views[label]
            changed.append(label)
    doc = {
        "format": LOCK_FORMAT,
        "comment": "Fingerprints of published feature-view versions; written by `fsync lock`, checked by "
        "`fsync check`. Change a published version by adding a new version, not by editing it in place.",
        "views": dict(sorted(views.items())),
    }
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return changed


def compare(manifest: Manifest, lock: dict[str, Any], lock_file: str = LOCK_FILE) -> list[Problem]:
    problems: list[Problem] = []
    locked: dict[str, Any] = lock.get("views") or {}
    for node in manifest.views:
        entry = locked.get(node.label)
        fix_new = (
            f"publish the change as a new version (add `- v: {_next_version(node, manifest)}` to "
            f"{node.name}'s `versions` with its own SQL file) and keep {node.label} as it was; if the change "
            f"is intentional and safe for every consumer, run `fsync lock` and commit {lock_file}"
        )
        if entry is None:
            problems.append(
                Problem(
                    node.label,
                    "lock",
                    f"is not in {lock_file} yet",
                    f"run `fsync lock` and commit {lock_file}",
                    node.sql_path,
                    level="warning",
                )
            )
            continue
        now = contract(node)
        if entry.get("contract") != now:
            problems.append(
                Problem(
                    node.label,
                    "contract",
                    f"published contract changed in place ({_contract_diff(entry['contract'], now)})",
                    fix_new,
                    node.yaml_path,
                )
            )
            continue
        sqls = entry.get("sql_sha256") or {}
        want = sqls.get(manifest.adapter_type)
        if want is None:
            problems.append(
                Problem(
                    node.label,
                    "lock",
                    f"has no SQL fingerprint for adapter {manifest.adapter_type} in {lock_file}",
                    f"run `fsync lock` on a {manifest.adapter_type} build and commit {lock_file}",
                    node.sql_path,
                    level="warning",
                )
            )
        elif want != sql_sha256(node, manifest):
            problems.append(
                Problem(
                    node.label,
                    "sql",
                    "published logic changed in place: its compiled SQL differs from the locked fingerprint",
                    fix_new,
                    node.sql_path,
                )
            )
    return problems


def _next_version(view: FeatureViewSpec, manifest: Manifest) -> int:
    versions = [v.version or 1 for v in manifest.views_named(view.name)]
    return max(versions or [1]) + 1


def _contract_diff(old: list[str], new: list[str]) -> str:
    before = dict(c.split(" ", 1) for c in old)
    after = dict(c.split(" ", 1) for c in new)
    parts = [f"removed {c}" for c in before if c not in after]
    parts += [f"added {c}" for c in after if c not in before]
    parts += [f"{c}: {before[c]} -> {after[c]}" for c in before if c in after and before[c] != after[c]]
    if not parts:
        parts = ["column order"]
    return ", ".join(parts)


def deprecations(manifest: Manifest, today: date) -> list[Problem]:
    """A warning per (deprecated version, exposure still using it), directly or through a training set."""
    problems: list[Problem] = []
    for node in manifest.views:
        if not node.deprecation_date:
            continue
        when = node.deprecation_date[:10]
        state = "was deprecated on" if when <= today.isoformat() else "is deprecated from"
        latest = node.latest_version
        for exposure in (n for n in manifest.graph.downstream(node.unique_id) if n.kind == "exposure"):
            fix = f"migrate {exposure.label} (owner {exposure.owner or 'unknown'})" + (
                f" to {node.name}@{latest}" if latest is not None and latest != node.version else ""
            )
            problems.append(
                Problem(
                    node.label,
                    "deprecation_date",
                    f"{state} {when} and exposure {exposure.label} still uses it",
                    fix,
                    node.yaml_path,
                    level="warning",
                )
            )
    return problems
