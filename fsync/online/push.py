"""The push: publish each selected view's latest rows into the online store, incrementally and idempotently.

Per view: take the view's lease in the store (pushes of one view into one store are mutually exclusive), plan
(check its schema, types and data, pick full or incremental mode from the watermark: every check runs before
anything is written, and `--dry-run` stops right after them), stream the latest rows in batches, write each
batch atomically, then (full mode) delete entities that are no longer served, and only then advance the
watermark and release the lease. A crash anywhere leaves the watermark where it was, so the next push redoes
the same idempotent writes; a crashed holder's lease expires (or, on the same host, is taken over at once).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from fsync.errors import CheckFailed, FsyncError, InfraUnavailable
from fsync.manifest import FeatureViewSpec, Manifest
from fsync.online import push_log
from fsync.online.encoding import (
    FEATURE_FAMILIES,
    KEY_FAMILIES,
    SQL_ENCODERS,
    TIMESTAMP_FAMILIES,
    column_encoder,
    entity_key,
    type_family,
)
from fsync.online.freshness import push_warnings
from fsync.online.latest import Bookkeeping, LatestRowsQuery, Window
from fsync.online.lease import Heartbeat, LeaseBusy, acquire
from fsync.online.stores.base import LAYOUT, META, Batch, LeaseLost, OnlineStore
from fsync.timeutil import shift, to_us
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
    allow_future: bool = False  # an as-of later than wall_now serves rows that are not yet valid
    allow_eviction: bool = False  # push into a Redis that may evict feature keys
    lease_ttl_s: float = 30.0  # a lease not renewed for this long is free (its holder crashed)
    lease_wait_s: float = 0.0  # how long to wait for another push of the same view to finish
    full_refresh_every_s: int | None = None  # an incremental push older than this since the last full: full
    push_log: bool = False  # record when each pushed entity became servable (fsync.online.push_log)


@dataclass
class ViewResult:
    view: str
    status: str  # pushed | dry-run | refused | invalid | busy | evicted
    mode: str | None = None  # full | incremental
    rows: int = 0
    deleted: int = 0
    seconds: float = 0.0
    message: str | None = None
    exit_code: int = 0
    reason: str | None = None  # why a full push (first push, --full-refresh, schema change, ...)
    evicted_keys: int = 0  # keys Redis evicted while this view was pushed (any prefix)
    warnings: list[str] = field(default_factory=list)  # freshness: 0 entities written, SLA already breached


@dataclass
class PushSummary:
    as_of: str
    store: str
    views: list[ViewResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return max((v.exit_code for v in self.views), default=0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "store": self.store,
            "exit_code": self.exit_code,
            "warnings": [*self.warnings, *(w for v in self.views for w in v.warnings)],
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
    """The relation exists and holds the meta's columns and the enforced contract's types, and fsync can
    serve every column's type: all checked before anything of the view is written."""
    if view.problems:
        raise FsyncError(f"refusing to publish {view.label}: {view.problem_text()}")
    relation = f"{view.schema}.{view.alias}"
    if not actual:
        raise FsyncError(
            f"view {view.label}: relation {relation} not found in the warehouse"
            " (was it built into this warehouse?)."
        )
    lower = {k.lower(): v for k, v in actual.items()}
    for col in view.system_columns:
        if col.lower() not in lower:
            raise FsyncError(
                f"view {view.label}: column {col!r} named in meta.feature_view is not in relation "
                f"{relation} (columns: {', '.join(actual)})."
            )
    for col in view.columns:
        if col.name.lower() not in lower:
            raise FsyncError(
                f"view {view.label}: contract column {col.name!r} is missing from relation {relation}."
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
        if type_family(lower[name.lower()]) not in FEATURE_FAMILIES:
            raise FsyncError(
                f"view {view.label}: column {name!r} is {lower[name.lower()]}, a type the online store"
                " cannot serve; cast it in the model (e.g. to varchar, or to_json(...)) or leave it out of"
                " the view's columns. Nothing was written."
            )
    for key in view.entity_keys:
        if type_family(lower[key.lower()]) not in KEY_FAMILIES:
            raise FsyncError(
                f"view {view.label}: entity key {key!r} is {lower[key.lower()]}, not a type an entity key can"
                " be (integer, text, decimal, date, timestamp, uuid); cast it in the model."
            )
    for role, col in (("timestamp", view.timestamp), ("created_timestamp", view.created_timestamp)):
        if col and type_family(lower[col.lower()]) not in TIMESTAMP_FAMILIES:
            raise FsyncError(
                f"view {view.label}: meta.feature_view.{role} {col!r} is {lower[col.lower()]}, not a"
                " timestamp; cast it to timestamp in the model. Nothing was written."
            )


def served_schema(view: FeatureViewSpec, actual: dict[str, str]) -> list[list[str]]:
    """[column, type family] of every column a push reads, in order: a change forces a full push."""
    lower = {k.lower(): v for k, v in actual.items()}
    names = [*view.system_columns, *feature_columns(view, actual)]
    return [[n, type_family(lower[n.lower()])] for n in names]


def _schema_change(old: list[list[str]], new: list[list[str]]) -> str:
    before, after = dict(map(tuple, old)), dict(map(tuple, new))  # type: ignore[arg-type]
    parts = [f"dropped {c}" for c in before if c not in after]
    parts += [f"added {c}" for c in after if c not in before]
    parts += [
        f"{c} is now {after[c]} (was {before[c]})" for c in after if c in before and before[c] != after[c]
    ]
    if not parts and list(before) != list(after):
        parts.append("the columns were reordered")
    return ", ".join(parts)


# -- plan: every check, nothing written ---------------------------------------------------------------------
@dataclass
class Plan:
    view: FeatureViewSpec
    query: LatestRowsQuery
    staged: tuple[str, list[Any]]  # the candidates, staged by the reader
    columns: list[str]
    actual: dict[str, str]
    schema: list[list[str]]
    watermark: dict[str, Any] | None
    full: bool
    reason: str | None
    window: Window
    total: int
    created_max: datetime | None
    newest_ts: datetime | None  # the greatest feature_ts <= as_of among the candidates (alive or not)


def _full_reason(
    view: FeatureViewSpec,
    store: OnlineStore,
    watermark: dict[str, Any] | None,
    schema: list[list[str]],
    opts: PushOptions,
) -> str | None:
    """Why this push must be full, or None for an incremental push."""
    if opts.full_refresh:
        return "--full-refresh"
    if watermark is None:
        return "first push"
    if watermark.get("layout") != LAYOUT:
        return f"the store holds layout {watermark.get('layout', 1)}, this fsync writes layout {LAYOUT}"
    if "instance" in watermark and watermark["instance"] != store.instance():
        # A server of the store (a cluster node) restarted without its data since the last push: what it
        # held is gone although the watermark, kept elsewhere, survived.
        return "a server of the online store restarted without its data since the last push"
    if datetime.fromisoformat(watermark["as_of"]) > opts.as_of:
        # going back in time: entities pushed from later rows must be rewritten or removed
        return f"--as-of is earlier than the last push's ({watermark['as_of']})"
    if "schema" not in watermark:
        return "the last push (an older fsync) recorded no schema"
    if watermark["schema"] != schema:
        return f"the view's schema changed since the last push: {_schema_change(watermark['schema'], schema)}"
    if store.current_generation(view.store_id) > int(watermark.get("generation", 0)):
        return "a full push since the last complete push did not finish"
    if opts.full_refresh_every_s is not None:
        last_full = datetime.fromisoformat(watermark.get("full_as_of") or watermark["as_of"])
        if (opts.as_of - last_full).total_seconds() >= opts.full_refresh_every_s:
            return f"periodic full refresh (the last full push was as of {last_full.isoformat()})"
    return None


def plan_view(view: FeatureViewSpec, reader: Reader, store: OnlineStore, opts: PushOptions) -> Plan:
    """Every check a push makes before its first write (schema, types, NULL keys, ambiguous latest rows),
    and its mode."""
    actual = reader.columns(view.schema, view.alias)
    validate_schema(view, actual)
    columns = feature_columns(view, actual)
    utc = frozenset(k.lower() for k, t in actual.items() if type_family(t) == "timestamptz")
    lower = {k.lower(): v for k, v in actual.items()}
    in_sql = {c: SQL_ENCODERS[f] for c in columns if (f := type_family(lower[c.lower()])) in SQL_ENCODERS}
    q = LatestRowsQuery(view, columns, reader.param, utc, in_sql)
    schema = served_schema(view, actual)

    watermark = store.get_watermark(view.store_id)
    reason = _full_reason(view, store, watermark, schema, opts)
    alive_from = shift(opts.as_of, -view.ttl_seconds)
    if reason is not None:
        window = Window(opts.as_of, alive_from)
    else:
        assert watermark is not None
        created_wm = watermark.get("created_max")
        window = Window(
            opts.as_of,
            alive_from,
            since_ts=shift(datetime.fromisoformat(watermark["as_of"]), -opts.lookback_seconds),
            since_created=(
                shift(datetime.fromisoformat(created_wm), -opts.lookback_seconds) if created_wm else None
            ),
        )

    null_row = reader.one(*q.null_key_example())
    if null_row is not None:
        raise FsyncError(
            f"view {view.label}: NULL entity key in column(s) "
            f"{', '.join(k for k, v in zip(view.entity_keys, null_row, strict=False) if v is None)}"
            f"; example row: {_example(view, null_row)}. Nothing of {view.label} was written."
        )
    staged = reader.stage(*q.candidates(window))
    total, n_dup, created_max, newest_ts = reader.one(*q.checks(staged, window)) or (0, 0, None, None)
    if n_dup:
        dup = reader.one(*q.duplicate_example(staged))
        raise FsyncError(
            f"view {view.label}: duplicate rows for the same ({', '.join(view.system_columns)}); "
            f"the latest row is ambiguous for example at {_example(view, dup)}. "
            f"Nothing of {view.label} was written."
        )
    return Plan(
        view=view,
        query=q,
        staged=staged,
        columns=columns,
        actual=actual,
        schema=schema,
        watermark=watermark,
        full=reason is not None,
        reason=reason,
        window=window,
        total=int(total),
        created_max=created_max,
        newest_ts=newest_ts,
    )


# -- execute ------------------------------------------------------------------------------------------------
def _write_rows(
    plan: Plan,
    store: OnlineStore,
    reader: Reader,
    opts: PushOptions,
    generation: int,
    beat: Heartbeat,
    progress: Progress | None,
    collected: tuple[list[str], list[int]] | None = None,
) -> int:
    view, columns = plan.view, plan.columns
    n_keys = len(view.entity_keys)
    ttl_us = view.ttl_seconds * 1_000_000
    lower = {k.lower(): v for k, v in plan.actual.items()}
    # Columns of the common types arrive encoded by the warehouse (SQL_ENCODERS); the rest are encoded here.
    encoders = [
        None if type_family(lower[c.lower()]) in SQL_ENCODERS else column_encoder(lower[c.lower()])
        for c in columns
    ]
    offset_ms = (to_us(opts.wall_now or opts.as_of) - to_us(opts.as_of)) // 1000
    single_key = n_keys == 1 and type_family(lower[view.entity_keys[0].lower()]) in ("int", "string")
    # An incremental push runs only when the schema equals the last complete push's, and a full push that
    # did not finish forces the next one to be full: every stored hash already has exactly these fields.
    # The first generation ever handed out, with no watermark: nothing of the view is stored at all.
    same_fields = not plan.full or (plan.watermark is None and generation == 1)
    written = 0
    bookkeeping = Bookkeeping(reader.epoch_us, ttl_us, generation)
    sql, params = plan.query.latest_rows(plan.staged, plan.window, bookkeeping)
    for rows in reader.stream(sql, params, opts.batch_size):
        if beat.lost:
            raise LeaseLost(f"the lease on {view.label} was lost mid-push; the watermark was not advanced.")
        cols = list(zip(*rows, strict=True))
        feature_ts, expires, meta = cols[n_keys], cols[n_keys + 1], cols[n_keys + 2]
        encoded = [
            col if enc is None else enc(col) for enc, col in zip(encoders, cols[n_keys + 3 :], strict=True)
        ]
        if single_key:
            keys = cols[0]
            entities = [entity_key((k,)) for k in keys] if isinstance(keys[0], str) else list(map(str, keys))
        else:
            entities = [entity_key(row[:n_keys]) for row in rows]
        batch = Batch(list(columns), entities, feature_ts, expires, encoded, generation, same_fields, meta)
        store.write(view.store_id, batch, offset_ms)
        if collected is not None:  # the push log: which entities, at which feature_ts
            collected[0].extend(entities)
            collected[1].extend(feature_ts)
        written += len(rows)
        if progress:
            progress(view.label, written, plan.total)
    store.flush()
    return written


def push_view(
    view: FeatureViewSpec,
    reader: Reader,
    store: OnlineStore,
    opts: PushOptions,
    progress: Progress | None = None,
) -> ViewResult:
    """Push one view; raises FsyncError (nothing written) on bad meta or data, InfraUnavailable on outages,
    LeaseBusy when another push of the view holds its lease."""
    started = time.perf_counter()
    if opts.dry_run:
        plan = plan_view(view, reader, store, opts)
        return ViewResult(
            view=view.label,
            status="dry-run",
            mode="full" if plan.full else "incremental",
            rows=plan.total,
            reason=plan.reason,
            seconds=round(time.perf_counter() - started, 3),
            warnings=push_warnings(view, opts.as_of, _newest(plan), plan.total, plan.full),
        )
    token = acquire(store, view, opts.lease_ttl_s, opts.lease_wait_s)
    beat = Heartbeat(store, view.store_id, token, opts.lease_ttl_s)
    beat.start()
    try:
        return _push_leased(view, reader, store, opts, progress, started, beat)
    finally:
        beat.stop()
        with contextlib.suppress(FsyncError):  # an unreachable store: the lease expires on its own
            store.release_lease(view.store_id, token)


def _push_leased(
    view: FeatureViewSpec,
    reader: Reader,
    store: OnlineStore,
    opts: PushOptions,
    progress: Progress | None,
    started: float,
    beat: Heartbeat,
) -> ViewResult:
    instance = store.instance()
    evicted_before = store.evicted_keys()
    plan = plan_view(view, reader, store, opts)
    watermark = plan.watermark
    previous = int(watermark["generation"]) if watermark else 0
    generation = store.next_generation(view.store_id, previous) if plan.full else previous
    collected: tuple[list[str], list[int]] | None = ([], []) if opts.push_log else None
    written = _write_rows(plan, store, reader, opts, generation, beat, progress, collected)
    result = ViewResult(
        view=view.label,
        status="pushed",
        mode="full" if plan.full else "incremental",
        rows=written,
        reason=plan.reason,
    )
    # The first generation ever handed out for the view, with no watermark: nothing else can be stored.
    if plan.full and not (watermark is None and generation == 1):
        result.deleted = store.delete_stale(view.store_id, generation)
    result.deleted += store.purge_expired(view.store_id, opts.as_of)
    if store.instance() != instance:
        raise InfraUnavailable(
            f"the online store restarted while {view.label} was being pushed ({store.describe()});"
            " writes may be lost, so the watermark was not advanced: push again."
        )
    result.evicted_keys = store.evicted_keys() - evicted_before
    if result.evicted_keys > 0 and not opts.allow_eviction:
        result.status, result.exit_code = "evicted", InfraUnavailable.exit_code
        result.message = (
            f"the store evicted {result.evicted_keys} keys while {view.label} was pushed (maxmemory reached):"
            " some entities are missing, so the watermark was not advanced; give the store more memory"
            " and push again."
        )
        return result
    prev_created = watermark.get("created_max") if watermark and not plan.full else None
    new_created = max(
        filter(None, [plan.created_max.isoformat() if plan.created_max else None, prev_created]), default=None
    )
    full_as_of = opts.as_of.isoformat() if plan.full else (watermark or {}).get("full_as_of")
    newest = _newest(plan)
    if collected is not None:
        # Every write is confirmed: on the push's time line the entities are servable from now on.
        completed_at = datetime.now(UTC).replace(tzinfo=None)
        available_at = shift(opts.as_of, time.perf_counter() - started)
        mode = result.mode or "full"
        push_log.append(store, view, generation, mode, opts.as_of, completed_at, available_at, *collected)
    store.set_watermark(
        view.store_id,
        {
            "as_of": opts.as_of.isoformat(),
            "created_max": new_created,
            "generation": generation,
            "rows": written,
            "mode": result.mode,
            "full_as_of": full_as_of,
            "fields": plan.columns,
            "schema": plan.schema,
            "layout": LAYOUT,
            "instance": instance,
            "newest_ts": newest.isoformat() if newest else None,
            "completed_at": datetime.now(UTC).replace(tzinfo=None).isoformat(),  # the wall clock
        },
    )
    result.warnings = push_warnings(view, opts.as_of, newest, written, plan.full)
    if result.evicted_keys > 0:
        result.message = (
            f"warning: the store evicted {result.evicted_keys} keys (any prefix) during this push"
            " (--allow-eviction): some entities may be missing."
        )
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _newest(plan: Plan) -> datetime | None:
    """The greatest feature_ts <= as_of of the view: a full push saw every entity; an incremental one only
    the changed ones, so the last push's newest counts too."""
    previous = (plan.watermark or {}).get("newest_ts") if not plan.full else None
    found = [ts for ts in (plan.newest_ts, datetime.fromisoformat(previous) if previous else None) if ts]
    return max(found, default=None)


def check_as_of(opts: PushOptions) -> None:
    if opts.wall_now is not None and opts.as_of > opts.wall_now and not opts.allow_future:
        raise FsyncError(
            f"--as-of {opts.as_of.isoformat()} is later than the wall clock ({opts.wall_now.isoformat()}):"
            " the push would serve rows that are not valid yet; pass --allow-future to do it anyway."
        )


def push(
    manifest: Manifest,
    views: list[FeatureViewSpec],
    reader: Reader,
    store: OnlineStore,
    opts: PushOptions,
    progress: Progress | None = None,
) -> PushSummary:
    """Push every view; a view refused, invalid or busy is reported and skipped (one bad view never stops
    the others); an outage of the store stops the push."""
    check_as_of(opts)
    summary = PushSummary(as_of=opts.as_of.isoformat(), store=store.describe())
    risk = store.eviction_risk()
    if risk is not None:
        if not opts.allow_eviction:
            raise FsyncError(
                f"{risk}; set maxmemory-policy noeviction (a full store then fails the push, exit 3) or"
                " give it no maxmemory, or pass --allow-eviction to push anyway."
            )
        summary.warnings.append(f"{risk} (--allow-eviction)")
    for view in views:
        try:
            # A spec problem is reported by push_view with the line `fsync check` prints; health comes after.
            reason = None if view.problems else manifest.health.reason(view.unique_id, view.test_ids)
            if reason:
                raise CheckFailed(f"refusing to publish {view.label}: {reason}.")
            summary.views.append(push_view(view, reader, store, opts, progress))
        except LeaseBusy as exc:
            summary.views.append(
                ViewResult(view=view.label, status="busy", exit_code=exc.exit_code, message=str(exc))
            )
            continue
        except InfraUnavailable:
            raise
        except FsyncError as exc:
            status = "refused" if isinstance(exc, CheckFailed) else "invalid"
            summary.views.append(
                ViewResult(view=view.label, status=status, exit_code=exc.exit_code, message=str(exc))
            )
    return summary
