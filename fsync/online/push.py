"""The push: publish each selected view's latest rows into the online store, incrementally and idempotently.

Per view: check its dbt status and its data (before writing anything), pick full or incremental mode from
the watermark stored in the online store, stream the latest rows in batches, write each batch atomically,
then (full mode) delete entities that are no longer served, and only then advance the watermark.
A crash anywhere leaves the watermark where it was, so the next push redoes the same idempotent writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fsync.errors import CheckFailed, FsyncError, InfraUnavailable
from fsync.manifest import FeatureViewSpec, Manifest
from fsync.online.encoding import column_encoder, entity_key, type_family
from fsync.online.latest import LatestRowsQuery, Window
from fsync.online.stores.base import LAYOUT, META, Batch, OnlineStore
from fsync.timeutil import EPOCH, MICROSECOND, to_us
from fsync.warehouse import Reader

Progress = Callable[[str, int, int], None]  # (view id, rows done, rows total)


@dataclass
class PushOptions:
    as_of: datetime
    full_refresh: bool = False
    dry_run: bool = False
    batch_size: int = 1000
    lookback_seconds: int = 2 * 86400
    wall_now: datetime | None = None  # the store's physical clock; None: same as as_of


@dataclass
class ViewResult:
    view: str
    status: str  # pushed | dry-run | refused | invalid
    mode: str | None = None  # full | incremental
    rows: int = 0
    deleted: int = 0
    seconds: float = 0.0
    message: str | None = None
    exit_code: int = 0


@dataclass
class PushSummary:
    as_of: str
    store: str
    views: list[ViewResult] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return max((v.exit_code for v in self.views), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "store": self.store,
            "exit_code": self.exit_code,
            "views": [asdict(v) for v in self.views],
        }


def _example(view: FeatureViewSpec, row: tuple[Any, ...] | None) -> str:
    if row is None:
        return ""
    names = (
        list(view.entity_keys)
        + [view.timestamp]
        + ([view.created_timestamp] if view.created_timestamp else [])
    )
    return ", ".join(f"{n}={v!r}" for n, v in zip(names, row, strict=False))


def feature_columns(view: FeatureViewSpec, actual: dict[str, str]) -> list[str]:
    """The served columns: the contract's (else the relation's) columns other than keys and timestamps."""
    system = {c.lower() for c in view.system_columns}
    names = [c.name for c in view.columns] if view.columns else list(actual)
    return [n for n in names if n.lower() not in system]


def validate_schema(view: FeatureViewSpec, actual: dict[str, str]) -> None:
    """The relation exists and holds the meta's columns and the enforced contract's types."""
    if view.problems:
        raise FsyncError(f"refusing to publish {view.label}: {view.problem_text()}")
    if not actual:
        raise FsyncError(
            f"view {view.label}: relation {view.schema}.{view.alias} not found in the warehouse"
            " (was it built into this warehouse?)."
        )
    lower = {k.lower(): v for k, v in actual.items()}
    for col in view.system_columns:
        if col.lower() not in lower:
            raise FsyncError(
                f"view {view.label}: column {col!r} named in meta.feature_view is not in relation "
                f"{view.schema}.{view.alias} (columns: {', '.join(actual)})."
            )
    for col in view.columns:
        if col.name.lower() not in lower:
            raise FsyncError(
                f"view {view.label}: contract column {col.name!r} is missing from relation "
                f"{view.schema}.{view.alias}."
            )
        if view.contract_enforced and col.data_type:
            want, got = type_family(col.data_type), type_family(lower[col.name.lower()])
            if want != got:
                raise FsyncError(
                    f"view {view.label}: column {col.name!r} is {lower[col.name.lower()]} in the warehouse"
                    f" but the enforced contract declares {col.data_type}."
                )
    for name in feature_columns(view, actual):
        if name == META:
            raise FsyncError(f"view {view.label}: column {name!r} collides with an fsync bookkeeping field.")
    if type_family(lower[view.timestamp.lower()]) not in ("timestamp", "timestamptz"):
        raise FsyncError(
            f"view {view.label}: timestamp column {view.timestamp!r} is {lower[view.timestamp.lower()]},"
            " not a timestamp."
        )


def push_view(
    view: FeatureViewSpec,
    reader: Reader,
    store: OnlineStore,
    opts: PushOptions,
    progress: Progress | None = None,
) -> ViewResult:
    """Push one view; raises FsyncError (nothing written) on bad meta or data, InfraUnavailable on outages."""
    started = time.perf_counter()
    instance = store.instance()
    actual = reader.columns(view.schema, view.alias)
    validate_schema(view, actual)
    columns = feature_columns(view, actual)
    q = LatestRowsQuery(view, columns, reader.param)

    watermark = store.get_watermark(view.store_id)
    alive_from = opts.as_of - timedelta(seconds=view.ttl_seconds)
    full = opts.full_refresh or watermark is None or watermark.get("layout") != LAYOUT
    if watermark is not None and datetime.fromisoformat(watermark["as_of"]) > opts.as_of:
        full = True  # going back in time: entities pushed from later rows must be rewritten or removed
    generation = int(watermark["generation"]) if watermark else 0
    if full:
        generation += 1
        window = Window(opts.as_of, alive_from)
    else:
        lookback = timedelta(seconds=opts.lookback_seconds)
        created_wm = watermark.get("created_max") if watermark else None
        window = Window(
            opts.as_of,
            alive_from,
            since_ts=datetime.fromisoformat(watermark["as_of"]) - lookback,
            since_created=datetime.fromisoformat(created_wm) - lookback if created_wm else None,
        )

    total, n_dup, created_max, n_null = reader.one(*q.preflight(window)) or (0, 0, None, 0)
    null_row = reader.one(*q.null_key_example()) if n_null else None
    if null_row is not None:
        raise FsyncError(
            f"view {view.label}: NULL entity key in column(s) "
            f"{', '.join(k for k, v in zip(view.entity_keys, null_row, strict=False) if v is None)}"
            f"; example row: {_example(view, null_row)}. Nothing of {view.label} was written."
        )

    if n_dup:
        dup = reader.one(*q.duplicate_example(window))
        raise FsyncError(
            f"view {view.label}: duplicate rows for the same ({', '.join(view.system_columns)}); "
            f"the latest row is ambiguous for example at {_example(view, dup)}. "
            f"Nothing of {view.label} was written."
        )
    result = ViewResult(
        view=view.label,
        status="dry-run" if opts.dry_run else "pushed",
        mode="full" if full else "incremental",
        rows=int(total),
    )
    if opts.dry_run:
        result.seconds = time.perf_counter() - started
        return result

    n_keys, ttl_us = len(view.entity_keys), view.ttl_seconds * 1_000_000
    lower = {k.lower(): v for k, v in actual.items()}
    encoders = [column_encoder(lower[c.lower()]) for c in columns]
    names = list(columns)
    offset_ms = (to_us(opts.wall_now or opts.as_of) - to_us(opts.as_of)) // 1000
    single_key = n_keys == 1 and type_family(lower[view.entity_keys[0].lower()]) in ("int", "string")
    # An incremental push after a completed push with the same fields overwrites every field of a hash.
    same_fields = not full and watermark is not None and watermark.get("fields") == names
    written = 0
    sql, params = q.latest_rows(window)
    for rows in reader.stream(sql, params, opts.batch_size):
        cols = list(zip(*rows, strict=True))
        feature_ts = [(ts - EPOCH) // MICROSECOND for ts in cols[n_keys]]
        expires = [ts + ttl_us for ts in feature_ts]
        encoded = [enc(col) for enc, col in zip(encoders, cols[n_keys + 1 :], strict=True)]
        if single_key:
            entities = [entity_key((k,)) if isinstance(k, str) else str(k) for k in cols[0]]
        else:
            entities = [entity_key(row[:n_keys]) for row in rows]
        batch = Batch(names, entities, feature_ts, expires, encoded, generation, same_fields)
        store.write(view.store_id, batch, offset_ms)
        written += len(rows)
        if progress:
            progress(view.label, written, int(total))
    store.flush()
    if full and watermark is not None:
        # Without a watermark every stored entity of the view has this generation: nothing can be stale.
        result.deleted = store.delete_stale(view.store_id, generation)
    result.deleted += store.purge_expired(view.store_id, opts.as_of)
    if store.instance() != instance:
        raise InfraUnavailable(
            f"the online store restarted while {view.label} was being pushed ({store.describe()});"
            " writes may be lost, so the watermark was not advanced: push again."
        )
    prev_created = watermark.get("created_max") if watermark and not full else None
    new_created = max(
        filter(None, [created_max.isoformat() if created_max else None, prev_created]), default=None
    )
    store.set_watermark(
        view.store_id,
        {
            "as_of": opts.as_of.isoformat(),
            "created_max": new_created,
            "generation": generation,
            "rows": written,
            "mode": result.mode,
            "fields": names,
            "layout": LAYOUT,
        },
    )
    result.rows = written
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def push(
    manifest: Manifest,
    views: list[FeatureViewSpec],
    reader: Reader,
    store: OnlineStore,
    opts: PushOptions,
    progress: Progress | None = None,
) -> PushSummary:
    """Push every view; a view refused or invalid is reported and skipped, an outage stops the push."""
    summary = PushSummary(as_of=opts.as_of.isoformat(), store=store.describe())
    for view in views:
        try:
            # A spec problem is reported by push_view with the line `fsync check` prints; health comes after.
            reason = None if view.problems else manifest.health.reason(view.unique_id, view.test_ids)
            if reason:
                raise CheckFailed(f"refusing to publish {view.label}: {reason}.")
            summary.views.append(push_view(view, reader, store, opts, progress))
        except InfraUnavailable:
            raise
        except FsyncError as exc:
            status = "refused" if isinstance(exc, CheckFailed) else "invalid"
            summary.views.append(
                ViewResult(view=view.label, status=status, exit_code=exc.exit_code, message=str(exc))
            )
    return summary
