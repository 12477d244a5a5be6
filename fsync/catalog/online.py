"""The online side of each feature view for the catalog: freshness at the as-of (fsync.monitoring.freshness:
the last push, entities served, newest feature_ts online, ok / warn / breach) and, when a report of
`fsync skew --json` is given, its status per view. A store or warehouse that cannot be read is a message
on the pages."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fsync.errors import FsyncError
from fsync.manifest import FeatureViewSpec
from fsync.monitoring.freshness import ViewFreshness, view_freshness
from fsync.online.stores import OnlineStore
from fsync.warehouse import Warehouse, open_reader


@dataclass
class OnlineSides:
    source: str  # the store read, secrets redacted
    unavailable: str | None = None
    by_view: dict[str, ViewFreshness] = field(default_factory=dict)  # unique_id -> freshness
    errors: dict[str, str] = field(default_factory=dict)  # unique_id -> why it could not be read
    skew: dict[str, dict[str, object]] = field(default_factory=dict)  # view label -> skew summary


def load_skew(path: Path) -> dict[str, dict[str, object]]:
    """Per view label of an `fsync skew --json` report: status (ok | skew), its worst feature and rate."""
    try:
        report = json.loads(path.read_text())
        features = report["features"]
        threshold = float(report.get("threshold") or 0.0)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FsyncError(f"--skew-report {path}: not a report of `fsync skew --json` ({exc}).") from None
    out: dict[str, dict[str, object]] = {}
    for f in features:
        rate = float(f["exact_match_rate"])
        entry = out.setdefault(f["view"], {"status": "ok", "worst_feature": None, "exact_match_rate": 1.0})
        if rate < float(entry["exact_match_rate"]):  # type: ignore[arg-type]
            entry.update(worst_feature=f["feature"], exact_match_rate=rate)
        if 1.0 - rate > threshold:
            entry["status"] = "skew"
    return out


def collect_online(
    open_store: Callable[[], OnlineStore],
    warehouse: Warehouse | FsyncError | None,
    views: Sequence[FeatureViewSpec],
    as_of: datetime,
) -> OnlineSides:
    """The freshness of every online view at `as_of`, from the store and the warehouse."""
    try:
        store = open_store()
    except FsyncError as exc:
        return OnlineSides(source="the online store", unavailable=str(exc))
    sides = OnlineSides(source=store.describe())
    try:
        if not isinstance(warehouse, Warehouse):
            sides.unavailable = "the warehouse could not be read" if warehouse else "not profiled"
            return sides
        try:
            reader = open_reader(warehouse)
        except FsyncError as exc:
            sides.unavailable = str(exc)
            return sides
        try:
            for view in views:
                if not view.online:
                    continue
                try:
                    sides.by_view[view.unique_id] = view_freshness(view, reader, store, as_of)
                except FsyncError as exc:
                    sides.errors[view.unique_id] = str(exc)
        finally:
            reader.close()
    finally:
        store.close()
    return sides
