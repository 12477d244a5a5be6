"""Freshness of every feature view version against its declared `freshness_sla`, at an instant.

Per view: the last successful push (its as-of and when it completed), the newest feature_ts in the warehouse
and online (both at or before the as-of: a row after it was not known yet), the entities served online, and
a status by the one rule of fsync.online.freshness: `ok`, `warn` (>= 80 % of the SLA) or `breach` (over the
SLA, or nothing at all). An online view's status is the worse of the warehouse's and the store's, and says
which one is late: a stale warehouse needs a dbt build, a stale store a push.

This is a stable API (Dagster/Airflow checks build on it; the CLI's `fsync freshness --json` prints
`FreshnessReport.to_dict()`):

    from fsync.monitoring.freshness import check_freshness

    report = check_freshness("examples/demo", as_of="2024-12-01T12:00:00")
    report.exit_code          # 1 on any breach, else 0
    report.view("user_purchase_features@2").status    # "ok" | "warn" | "breach" | "invalid"
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fsync.errors import FsyncError
from fsync.manifest import FeatureViewSpec, Manifest, load_manifest
from fsync.online.encoding import type_family
from fsync.online.freshness import BREACH, OK, SEVERITY, WARN, WARN_FRACTION, age_seconds, freshness_status
from fsync.online.stores import OnlineStore, open_store
from fsync.project import load_project
from fsync.settings import load_settings
from fsync.timeutil import format_duration, format_instant, parse_as_of
from fsync.warehouse import Reader, open_reader, quote, resolve_warehouse

INVALID = "invalid"  # the view's spec has a problem (no usable SLA): counted as a failed check

__all__ = [
    "BREACH",
    "INVALID",
    "OK",
    "WARN",
    "WARN_FRACTION",
    "FreshnessReport",
    "ViewFreshness",
    "check_freshness",
    "freshness_report",
    "newest_warehouse_ts",
    "online_state",
    "view_freshness",
]


@dataclass(frozen=True)
class ViewFreshness:
    """The freshness of one view version at `as_of` (timestamps naive UTC; ages in seconds)."""

    view: str  # the label, `name@N`
    name: str
    version: int | None
    online: bool  # published to the online store (meta.feature_view.online)
    freshness_sla: str  # as declared, e.g. "26h" ("" when invalid)
    sla_seconds: int | None
    last_push_as_of: datetime | None  # the as-of of the last push that completed (None: never pushed)
    last_push_completed_at: datetime | None  # its wall-clock end (None: never, or pushed by an older fsync)
    last_push_mode: str | None  # full | incremental
    newest_warehouse_ts: datetime | None  # greatest feature_ts <= as_of in the warehouse (None: no row)
    newest_online_ts: datetime | None  # greatest feature_ts served online at as_of (None: none, or offline)
    entities_online: int | None  # entities served online at as_of (None: not checked)
    warehouse_age_seconds: float | None
    online_age_seconds: float | None
    warehouse_status: str  # ok | warn | breach | invalid
    online_status: str | None  # ok | warn | breach; None when the store was not checked
    status: str  # the worse of the two: ok | warn | breach | invalid
    message: str  # one line: why, and what to do

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True)
class FreshnessReport:
    as_of: datetime
    store: str | None  # the store checked, secrets redacted (None: warehouse only)
    views: tuple[ViewFreshness, ...]

    @property
    def status(self) -> str:
        """The worst status of any view (ok when there is none)."""
        statuses = [v.status for v in self.views]
        if INVALID in statuses:
            return INVALID
        return max(statuses, key=SEVERITY.__getitem__, default=OK)

    @property
    def exit_code(self) -> int:
        """1 when any view is in breach (or invalid), else 0: what `fsync freshness` exits with."""
        return 1 if self.status in (BREACH, INVALID) else 0

    def view(self, label: str) -> ViewFreshness:
        for v in self.views:
            if v.view == label or (v.name == label and len([w for w in self.views if w.name == label]) == 1):
                return v
        raise KeyError(label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "store": self.store,
            "status": self.status,
            "exit_code": self.exit_code,
            "warn_fraction": WARN_FRACTION,
            "views": [v.to_dict() for v in self.views],
        }


def newest_warehouse_ts(reader: Reader, view: FeatureViewSpec, as_of: datetime) -> datetime | None:
    """The greatest feature_ts <= as_of of the view's relation (a timestamptz column as its UTC instant)."""
    actual = {k.lower(): t for k, t in reader.columns(view.schema, view.alias).items()}
    if not actual:
        raise FsyncError(
            f"view {view.label}: relation {view.relation} not found in the warehouse (was it built into this"
            " warehouse?)."
        )
    column_type = actual.get(view.timestamp.lower())
    if column_type is None:
        raise FsyncError(f"view {view.label}: column {view.timestamp!r} is not in relation {view.relation}.")
    ts = quote(view.timestamp)
    if type_family(column_type) == "timestamptz":
        ts = f"({ts} at time zone 'UTC')"
    row = reader.one(
        f"select max({ts}) from {quote(view.schema)}.{quote(view.alias)} where {ts} <= {reader.param}",
        [as_of],
    )
    return row[0] if row else None


def online_state(store: OnlineStore, view: FeatureViewSpec, as_of: datetime) -> tuple[int, datetime | None]:
    """Entities of the view served at `as_of`, and the greatest feature_ts among them (one scan)."""
    count, newest = 0, None
    for _, record in store.scan(view.store_id):
        if record.alive(as_of):
            count += 1
            if newest is None or record.feature_ts > newest:
                newest = record.feature_ts
    return count, newest


def _parse(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


def view_freshness(
    view: FeatureViewSpec, reader: Reader, store: OnlineStore | None, as_of: datetime
) -> ViewFreshness:
    """The freshness of one view; `store` None (or an offline view): the warehouse only."""
    sla = view.freshness_sla_seconds
    newest_wh = newest_warehouse_ts(reader, view, as_of)
    wh_age = age_seconds(newest_wh, as_of)
    checked_online = store is not None and view.online
    watermark = store.get_watermark(view.store_id) if checked_online and store is not None else None
    entities = newest_on = on_age = on_status = None
    if checked_online and store is not None:
        entities, newest_on = online_state(store, view, as_of)
        on_age = age_seconds(newest_on, as_of)
    if not sla:
        problem = view.problem_text() if view.problems else "no valid meta.feature_view.freshness_sla"
        wh_status = status = INVALID
        message = f"{view.label}: cannot check freshness: {problem}"
    else:
        wh_status = freshness_status(wh_age, sla)
        status = wh_status
        if checked_online:
            on_status = freshness_status(on_age, sla)
            status = max(wh_status, on_status, key=SEVERITY.__getitem__)
        message = _message(view, as_of, newest_wh, wh_status, newest_on, on_status, watermark)
    return ViewFreshness(
        view=view.label,
        name=view.name,
        version=view.version,
        online=view.online,
        freshness_sla=view.freshness_sla,
        sla_seconds=sla,
        last_push_as_of=_parse((watermark or {}).get("as_of")),
        last_push_completed_at=_parse((watermark or {}).get("completed_at")),
        last_push_mode=(watermark or {}).get("mode"),
        newest_warehouse_ts=newest_wh,
        newest_online_ts=newest_on,
        entities_online=entities,
        warehouse_age_seconds=wh_age,
        online_age_seconds=on_age,
        warehouse_status=wh_status,
        online_status=on_status,
        status=status,
        message=message,
    )


def _aged(newest: datetime, as_of: datetime) -> str:
    return f"{format_instant(newest)} is {format_duration((as_of - newest).total_seconds())} old"


def _message(
    view: FeatureViewSpec,
    as_of: datetime,
    newest_wh: datetime | None,
    wh_status: str,
    newest_on: datetime | None,
    on_status: str | None,
    watermark: Mapping[str, Any] | None,
) -> str:
    at = format_instant(as_of)
    sla = view.freshness_sla
    if newest_wh is None:
        return f"no row with {view.timestamp} <= {at} in {view.relation}: build the model (dbt build)."
    wh_text = f"newest {view.timestamp} {_aged(newest_wh, as_of)}"
    if wh_status == BREACH:
        return (
            f"the warehouse is stale: {wh_text} at {at} (SLA {sla}); rebuild the model upstream (dbt build)."
        )
    if on_status is None:
        return f"{wh_text} at {at} (SLA {sla})."
    if watermark is None:
        return f"never pushed into the store ({wh_text} in the warehouse): run fsync push."
    if newest_on is None:
        return f"nothing is served online at {at} (last push as of {watermark.get('as_of')}): run fsync push."
    on_text = f"newest online {view.timestamp} {_aged(newest_on, as_of)}"
    if on_status == BREACH:
        return (
            f"the online store is stale: {on_text} at {at} (SLA {sla}) while the warehouse has"
            f" {format_instant(newest_wh)}; run fsync push (last push as of {watermark.get('as_of')})."
        )
    return f"{on_text} at {at} (SLA {sla}); warehouse {format_instant(newest_wh)}."


def freshness_report(
    views: Sequence[FeatureViewSpec], reader: Reader, store: OnlineStore | None, as_of: datetime
) -> FreshnessReport:
    """The freshness of `views` at `as_of` from an open warehouse reader and (optionally) an open store."""
    return FreshnessReport(
        as_of=as_of,
        store=store.describe() if store is not None else None,
        views=tuple(view_freshness(v, reader, store, as_of) for v in views),
    )


def select_views(manifest: Manifest, select: Sequence[str] = ()) -> list[FeatureViewSpec]:
    """The views named by `select` (name = every version, name@N one; empty: every feature view)."""
    if not select:
        return list(manifest.views)
    chosen: dict[str, FeatureViewSpec] = {}
    for text in select:
        for v in manifest.views_named(text):
            chosen[v.unique_id] = v
    return sorted(chosen.values(), key=lambda v: (v.name, v.version or 0))


def check_freshness(
    project_dir: str | Path = ".",
    select: Sequence[str] = (),
    as_of: datetime | str | None = None,
    *,
    online: bool = True,
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    **settings: Any,
) -> FreshnessReport:
    """The freshness report of a dbt project's feature views, opening (and closing) the warehouse and the
    online store as fsync's settings name them.

    Args:
        project_dir: the dbt project (its target/manifest.json must exist: run `dbt build` first).
        select: view names (`name` = every version, `name@N`); empty: every feature view.
        as_of: the instant to check at (a naive datetime is UTC, or ISO text); default the wall clock.
        online: also check the online store (entities served, newest online feature_ts, last push).
        config_file, env, **settings: as for `FeatureStore` (e.g. store="redis", sqlite_path=...).
    Raises fsync.errors.FsyncError (exit code 2/3 in `.exit_code`) when the project, warehouse or store
    cannot be read.
    """
    flags = {"project_dir": str(project_dir), **settings}
    resolved = load_settings(
        flags,
        env=dict(env) if env is not None else None,
        config_file=Path(config_file) if config_file else None,
    )
    project = load_project(resolved)
    manifest = load_manifest(project.target_path)
    views = select_views(manifest, select)
    when = as_of if isinstance(as_of, datetime) else parse_as_of(as_of)
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    reader = open_reader(resolve_warehouse(resolved, project, manifest.adapter_type))
    try:
        store = open_store(resolved) if online else None
        try:
            return freshness_report(views, reader, store, when)
        finally:
            if store is not None:
                store.close()
    finally:
        reader.close()
