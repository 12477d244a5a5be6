"""Online/offline skew, measured: replay the exported served-value log against the warehouse.

For every logged (request, view, entity) the value the read *should* have returned is recomputed with the
same compiled `fstore.point_in_time_join` the training sets use (fsync.serving.historical), at the instant
the read served at (`served_now`: the read's `now`, its wall clock unless it passed one) with the view's
TTL: the row with the greatest feature_ts <= served_now and >= served_now - ttl. Then, per feature:

- rows: logged reads of the feature; compared: both sides have a row; matches: compared and equal;
- missing: the join has a row but nothing was served (absent or expired online);
- extra: something was served but the join has no row;
- exact_match_rate: (matches + rows absent on both sides) / rows;
- mean_abs_diff / mean_rel_diff over the compared numeric rows; the worst keys (largest difference, or any
  mismatch of a non-numeric feature).

Values are compared exactly in their JSON form (fsync.jsonvalue: decimals as exact text, timestamps ISO), the
form the log is exported in. `fsync skew` exits 1 when a feature's mismatch rate (1 - exact_match_rate)
exceeds the threshold (default 0: any mismatch).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fsync.errors import FsyncError, InfraUnavailable
from fsync.jsonvalue import dumps
from fsync.manifest import FeatureViewSpec, Manifest
from fsync.online.encoding import type_family
from fsync.serving import FeatureStore
from fsync.serving.export import DEFAULT_TABLE
from fsync.serving.online import _key_part  # the one parser of key values into the warehouse's types
from fsync.warehouse import Warehouse, open_duckdb, open_postgres, quote

SERVED = ("present", "null")  # the statuses of a read that served a row
WORST_KEYS = 5
PREFIX = "_fsync_expected__"
ROW_ID = "_fsync_row"
LABEL_TS = "_fsync_served_now"


@dataclass(frozen=True)
class ServedRecord:
    """One logged (request, view, entity) as exported."""

    request_id: str
    served_at: datetime
    served_now: datetime
    service: str | None
    view: str
    version: int | None
    entity_key: str
    status: str
    feature_ts: datetime | None
    values: dict[str, Any]  # the JSON-decoded values served (empty when nothing was served)


@dataclass
class FeatureSkew:
    """The skew of one feature of one view version."""

    view: str
    feature: str
    rows: int = 0
    compared: int = 0
    matches: int = 0
    missing: int = 0
    extra: int = 0
    both_absent: int = 0
    abs_diff_sum: float = 0.0
    rel_diff_sum: float = 0.0
    numeric_compared: int = 0
    worst: list[dict[str, Any]] = field(default_factory=list)  # key, served_now, served, expected, abs_diff

    @property
    def mismatches(self) -> int:
        return self.compared - self.matches

    @property
    def exact_match_rate(self) -> float:
        return 1.0 if self.rows == 0 else (self.matches + self.both_absent) / self.rows

    @property
    def mismatch_rate(self) -> float:
        return 1.0 - self.exact_match_rate

    def to_dict(self) -> dict[str, Any]:
        n = self.numeric_compared
        return {
            "view": self.view,
            "feature": self.feature,
            "rows": self.rows,
            "compared": self.compared,
            "matches": self.matches,
            "mismatches": self.mismatches,
            "missing": self.missing,
            "extra": self.extra,
            "exact_match_rate": self.exact_match_rate,
            "mean_abs_diff": self.abs_diff_sum / n if n else None,
            "mean_rel_diff": self.rel_diff_sum / n if n else None,
            "worst_keys": self.worst,
        }


@dataclass(frozen=True)
class SkewReport:
    source: str
    since: datetime | None
    service: str | None
    threshold: float
    rows: int  # logged (request, view, entity) rows replayed
    features: tuple[FeatureSkew, ...]
    feature_ts_mismatches: dict[str, int]  # per view: rows whose served feature_ts differs from the join's

    @property
    def failing(self) -> list[FeatureSkew]:
        return [f for f in self.features if f.mismatch_rate > self.threshold]

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "since": self.since,
            "service": self.service,
            "threshold": self.threshold,
            "rows": self.rows,
            "status": "skew" if self.failing else "ok",
            "exit_code": self.exit_code,
            "feature_ts_mismatches": self.feature_ts_mismatches,
            "features": [f.to_dict() for f in self.features],
        }


# -- reading the exported log ----------------------------------------------------------------------------
def _where(since: datetime | None, service: str | None, p: str) -> tuple[str, list[Any]]:
    clauses, params = [], []
    if since is not None:
        clauses.append(f"served_at >= {p}")
        params.append(since)
    if service is not None:
        clauses.append(f"service = {p}")
        params.append(service)
    return (" where " + " and ".join(clauses) if clauses else ""), params


_COLUMNS = (
    "request_id, served_at, served_now, service, view, version, entity_key, status, feature_ts,"
    " feature_values"
)


def read_served_log(
    warehouse: Warehouse | None,
    table: str = DEFAULT_TABLE,
    log_dir: Path | None = None,
    since: datetime | None = None,
    service: str | None = None,
) -> tuple[str, list[ServedRecord]]:
    """The exported served-value log (Parquet files of `fsync logs export --out`, or the warehouse table of
    `--to-warehouse`), oldest first, filtered by served_at >= since and service; and where it was read."""
    if log_dir is not None:
        import duckdb

        files = sorted(log_dir.glob("served_*.parquet"))
        if not files:
            raise FsyncError(
                f"--log-dir {log_dir}: no exported log files (served_*.parquet); run fsync logs export --out."
            )
        where, params = _where(since, service, "?")
        listing = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        con = duckdb.connect()
        try:
            con.execute("set TimeZone = 'UTC'")
            rows = con.execute(
                f"select {_COLUMNS} from read_parquet([{listing}]){where} order by log_id, served_at", params
            ).fetchall()
        finally:
            con.close()
        return f"parquet:{log_dir}", [_record(r) for r in rows]
    if warehouse is None:
        raise FsyncError("give --log-dir DIR or a warehouse table to read the served-value log from.")
    if not all(part.isidentifier() for part in table.split(".")) or table.count(".") > 1:
        raise FsyncError(f"--table {table!r}: write NAME or SCHEMA.NAME (letters, digits, underscores).")
    qualified = ".".join(quote(p) for p in table.split("."))
    if warehouse.kind == "duckdb":
        import duckdb

        assert warehouse.duckdb_path is not None
        con = open_duckdb(warehouse.duckdb_path)
        where, params = _where(since, service, "?")
        try:
            sql = f"select {_COLUMNS} from {qualified}{where} order by log_id"
            rows = con.execute(sql, params).fetchall()
        except duckdb.CatalogException:
            raise FsyncError(
                f"no served-value log table {table} in {warehouse.describe()}: export it with"
                " `fsync logs export --to-warehouse`, or give --log-dir."
            ) from None
        finally:
            con.close()
    else:
        import psycopg2

        pg = open_postgres(warehouse.postgres_dsn or "")
        where, params = _where(since, service, "%s")
        try:
            with pg.cursor() as cur:
                cur.execute(f"select {_COLUMNS} from {qualified}{where} order by log_id", params)
                rows = cur.fetchall()
        except psycopg2.errors.UndefinedTable:
            raise FsyncError(
                f"no served-value log table {table} in {warehouse.describe()}: export it with"
                " `fsync logs export --to-warehouse`, or give --log-dir."
            ) from None
        except psycopg2.OperationalError as exc:
            raise InfraUnavailable(f"PostgreSQL failed reading the served-value log: {exc}") from None
        finally:
            pg.close()
    return f"warehouse:{table}", [_record(r) for r in rows]


def _record(row: Sequence[Any]) -> ServedRecord:
    request_id, served_at, served_now, service, view, version, key, status, feature_ts, values = row
    return ServedRecord(
        request_id,
        served_at,
        served_now,
        service,
        view,
        None if version is None else int(version),
        key,
        status,
        feature_ts,
        json.loads(values) if values else {},
    )


# -- replay -----------------------------------------------------------------------------------------------
def split_entity_key(text: str) -> list[str]:
    """The parts of a store entity key (the inverse of fsync.online.encoding.entity_key)."""
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            i += 2
            continue
        if ch == "|":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _canonical(value: Any) -> Any:
    """A value in the JSON form the log is exported in (so both sides compare exactly)."""
    return json.loads(dumps(value))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(Decimal(value))
        except (InvalidOperation, ValueError):
            return None
    return None


def _labels(view: FeatureViewSpec, records: Sequence[ServedRecord]) -> Any:
    import pyarrow as pa

    types = {c.name: c.data_type for c in view.columns}
    families = [type_family(types.get(k) or "") for k in view.entity_keys]
    columns: dict[str, list[Any]] = {k: [] for k in view.entity_keys}
    for r in records:
        parts = split_entity_key(r.entity_key)
        if len(parts) != len(view.entity_keys):
            raise FsyncError(
                f"the served log has entity key {r.entity_key!r} for {view.label}, which has"
                f" {len(view.entity_keys)} key column(s) ({', '.join(view.entity_keys)}): was it logged by"
                " another layout of the view?"
            )
        for k, family, part in zip(view.entity_keys, families, parts, strict=True):
            columns[k].append(_key_part(part, family, k, view.label))
    columns[LABEL_TS] = [r.served_now for r in records]
    columns[ROW_ID] = list(range(len(records)))
    return pa.table(columns)


def _replay_view(
    fs: FeatureStore, view: FeatureViewSpec, features: Sequence[str], records: Sequence[ServedRecord]
) -> list[dict[str, Any]]:
    """The point-in-time join's row for every record (in record order), through the SDK's training sets."""
    table = fs.get_historical_features(
        _labels(view, records),
        features=[f"{view.label}:{f}" for f in features],
        label_timestamp=LABEL_TS,
        entity_keys=view.entity_keys,
        prefixes={view.label: PREFIX},
    )
    out: list[dict[str, Any] | None] = [None] * len(records)
    for row in table.to_pylist():
        out[row[ROW_ID]] = row
    assert all(r is not None for r in out), "the point-in-time join dropped a label row"
    return out  # type: ignore[return-value]


def _view_of(manifest: Manifest, name: str, version: int | None) -> FeatureViewSpec:
    for v in manifest.views:
        if v.name == name and v.version == version:
            return v
    label = name if version is None else f"{name}@{version}"
    raise FsyncError(
        f"the served log names {label}, which is not a feature view of the manifest (removed or renamed"
        " since it was served?); pass --since to skip older reads."
    )


def skew_report(
    fs: FeatureStore,
    records: Sequence[ServedRecord],
    source: str,
    since: datetime | None = None,
    service: str | None = None,
    threshold: float = 0.0,
) -> SkewReport:
    """Replay `records` (see the module docstring) and compare, per view version and feature."""
    if not 0.0 <= threshold <= 1.0 or math.isnan(threshold):
        raise FsyncError(
            f"--threshold {threshold} must be a mismatch rate between 0 and 1 (0: any mismatch)."
        )
    by_view: dict[tuple[str, int | None], list[ServedRecord]] = {}
    for r in records:
        by_view.setdefault((r.view, r.version), []).append(r)
    features: list[FeatureSkew] = []
    ts_mismatches: dict[str, int] = {}
    for (name, version), rows in sorted(by_view.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        view = _view_of(fs.manifest, name, version)
        names = _logged_features(view, rows)
        expected = _replay_view(fs, view, names, rows)
        stats = {f: FeatureSkew(view.label, f) for f in names}
        ts_col = PREFIX + view.timestamp
        ts_mismatches[view.label] = 0
        for record, want in zip(rows, expected, strict=True):
            has_expected = want[ts_col] is not None
            served = record.status in SERVED
            if served and has_expected and record.feature_ts != want[ts_col]:
                ts_mismatches[view.label] += 1
            for f in names:
                if f not in record.values and served:
                    continue  # this read did not ask for f
                s = stats[f]
                s.rows += 1
                if not served and not has_expected:
                    s.both_absent += 1
                elif not served:
                    s.missing += 1
                    _worst(s, record, None, _canonical(want[PREFIX + f]), math.inf)
                elif not has_expected:
                    s.extra += 1
                    _worst(s, record, record.values.get(f), None, math.inf)
                else:
                    _compare(s, record, record.values.get(f), _canonical(want[PREFIX + f]))
        features.extend(stats[f] for f in names)
    return SkewReport(source, since, service, threshold, len(records), tuple(features), ts_mismatches)


def _logged_features(view: FeatureViewSpec, rows: Iterable[ServedRecord]) -> list[str]:
    """The features the log holds for the view, in the view's column order."""
    seen = {k for r in rows for k in r.values}
    order = [c.name for c in view.features] or sorted(seen)
    known = [c for c in order if c in seen]
    return known or [c.name for c in view.features]


def _compare(s: FeatureSkew, record: ServedRecord, served: Any, expected: Any) -> None:
    s.compared += 1
    if served == expected and type(served) is type(expected):
        s.matches += 1
        a = _number(served)
        if a is not None:
            s.numeric_compared += 1
        return
    a, b = _number(served), _number(expected)
    if a is not None and b is not None:
        diff = abs(a - b)
        s.numeric_compared += 1
        s.abs_diff_sum += diff
        s.rel_diff_sum += diff / abs(b) if b else (0.0 if diff == 0 else 1.0)
        _worst(s, record, served, expected, diff)
    else:
        _worst(s, record, served, expected, math.inf)


def _worst(s: FeatureSkew, record: ServedRecord, served: Any, expected: Any, diff: float) -> None:
    entry = {
        "entity_key": record.entity_key,
        "served_now": record.served_now,
        "request_id": record.request_id,
        "served": served,
        "expected": expected,
        "abs_diff": None if math.isinf(diff) else diff,
    }
    s.worst.append(entry)
    s.worst.sort(key=lambda e: -(math.inf if e["abs_diff"] is None else e["abs_diff"]))
    del s.worst[WORST_KEYS:]
