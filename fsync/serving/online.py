"""Online reads: a service (or a list of features) planned once, then many entities x many views read in one
round trip per store and decoded to typed values, with a status per (entity, view).

Statuses (fsync.online.served_log.status, the one rule): `present` (served), `null` (served, and every
requested value is NULL: a NULL value is a value, not an absence), `missing` (never pushed), `expired` (`now`
is past feature_ts + ttl; its values are not served). Feast's per-value statuses map from them: PRESENT,
NULL_VALUE, NOT_FOUND, OUTSIDE_MAX_AGE.
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fsync.errors import FsyncError
from fsync.manifest import FeatureViewSpec, Manifest
from fsync.manifest.names import did_you_mean
from fsync.online.encoding import ColumnDecoder, column_decoder, entity_key, type_family
from fsync.online.served_log import (
    EXPIRED,
    MISSING,
    NULL,
    PRESENT,
    LoggedView,
    pack_header,
    pack_views,
    served_state,
)
from fsync.online.stores.base import OnlineStore, ViewRead, tampered
from fsync.registry.training_set import ViewRequest
from fsync.serving.services import FeatureService
from fsync.timeutil import from_us, to_us

if TYPE_CHECKING:
    import pandas
    import pyarrow

FEAST_STATUS = {PRESENT: "PRESENT", NULL: "PRESENT", MISSING: "NOT_FOUND", EXPIRED: "OUTSIDE_MAX_AGE"}
EntityRows = Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]]


@dataclass(frozen=True)
class PlannedView:
    """One view of a plan: what to read from the store and how the columns are named."""

    request: ViewRequest
    keys: tuple[str, ...]  # its entity key columns
    key_families: tuple[str, ...]
    fields: tuple[str, ...]  # the stored features to read
    outputs: tuple[str, ...]  # their output column names
    types: tuple[str | None, ...]  # their contract data types
    decoders: tuple[ColumnDecoder, ...]
    logged: LoggedView

    @property
    def label(self) -> str:
        return self.request.view.label


@dataclass(frozen=True)
class OnlinePlan:
    """A service resolved down to store reads (made once per service or feature list, then cached)."""

    service: FeatureService
    views: tuple[PlannedView, ...]
    entity_columns: tuple[str, ...]
    feature_names: tuple[str, ...]
    logged_views: bytes  # the constant part of a served-value log header (fsync.online.served_log)

    @classmethod
    def of(cls, service: FeatureService) -> OnlinePlan:
        views = []
        for request in service.views:
            spec = request.view
            types = {c.name: c.data_type for c in spec.columns}
            views.append(
                PlannedView(
                    request=request,
                    keys=spec.entity_keys,
                    key_families=tuple(type_family(types.get(k) or "") for k in spec.entity_keys),
                    fields=request.columns,
                    outputs=request.outputs,
                    types=tuple(types.get(c) for c in request.columns),
                    decoders=tuple(column_decoder(types.get(c)) for c in request.columns),
                    logged=LoggedView(spec.name, spec.version, spec.store_id, request.columns),
                )
            )
        logged = pack_views(service.name, [v.logged for v in views])
        return cls(service, tuple(views), service.entity_columns, tuple(service.feature_names), logged)

    @classmethod
    def for_view(
        cls, manifest: Manifest, view: FeatureViewSpec, features: list[str] | None = None
    ) -> OnlinePlan:
        """The read of some features (default: all) of one view, columns named as the features."""
        names = features or [c.name for c in view.features]
        for name in names:
            manifest.feature(f"{view.label}:{name}")  # an unknown feature: an error naming its view
        return cls.of(FeatureService(None, (ViewRequest(view, tuple(names), ""),), 0.0, "features"))

    def key_families(self) -> dict[str, tuple[str, str]]:
        """Entity key column -> (its type family, the first view keyed by it)."""
        out: dict[str, tuple[str, str]] = {}
        for view in self.views:
            for k, f in zip(view.keys, view.key_families, strict=True):
                out.setdefault(k, (f, view.label))
        return out

    def key_texts(self, columns: dict[str, list[Any]], n: int) -> list[list[str]]:
        """The store key of every entity, per view (fsync.online.encoding.entity_key, as the push wrote it),
        from normalized key columns."""
        out = []
        for view in self.views:
            if len(view.keys) == 1:
                out.append([str(v) if type(v) is int else entity_key((v,)) for v in columns[view.keys[0]]])
            else:
                parts = [columns[c] for c in view.keys]
                out.append([entity_key(tuple(p[i] for p in parts)) for i in range(n)])
        return out


def _key_part(value: Any, family: str, column: str, view: str) -> Any:
    """An entity key value as the warehouse type the push read (ints from JSON text, timestamps from ISO)."""
    if value is None:
        raise FsyncError(f"entity key {column!r} of {view} is null; give every entity a value of {column}.")
    if family == "int":
        if type(value) is int:
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise FsyncError(f"entity key {column!r} of {view} is an integer column; got {value!r}.")
    if family == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise FsyncError(f"entity key {column!r} of {view} is a text column; got {value!r}.")
    if family in ("timestamp", "timestamptz"):
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise FsyncError(
                    f"entity key {column!r} of {view}: {value!r} is not an ISO timestamp."
                ) from None
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        raise FsyncError(f"entity key {column!r} of {view} is a timestamp column; got {value!r}.")
    if family == "date":
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise FsyncError(f"entity key {column!r} of {view}: {value!r} is not an ISO date.") from None
        return value
    return value


def entity_columns(plan: OnlinePlan, rows: EntityRows) -> tuple[dict[str, list[Any]], int]:
    """The entity key columns of a request (rows as a list of mappings, or Feast's column mapping), checked:
    every key a view needs is given, and nothing else."""
    wanted = plan.entity_columns
    if isinstance(rows, Mapping):
        columns = {str(k): list(v) if isinstance(v, list | tuple) else v for k, v in rows.items()}
        for k, v in columns.items():
            if not isinstance(v, list):
                raise FsyncError(f"entities: {k!r} must be a list of values, e.g. {{{k!r}: [1150, 1151]}}.")
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise FsyncError("entities: every key column must have as many values as the others.")
        n = lengths.pop() if lengths else 0
        given = set(columns)
    else:
        n = len(rows)
        given = set()
        for row in rows:
            if not isinstance(row, Mapping):
                raise FsyncError(f"entity_rows: each row is a mapping of key column to value, not {row!r}.")
            given.update(row)
        columns = {}
        for k in wanted:
            try:
                columns[k] = [row[k] for row in rows]
            except KeyError:
                columns[k] = []  # reported below
    for k in given:
        if k not in wanted:
            raise FsyncError(
                f"entity key {k!r} is not a key of the requested views.{did_you_mean(k, list(wanted))}"
                f" Their keys: {', '.join(wanted)}."
            )
    for k in wanted:
        if k not in given or len(columns.get(k, [])) != n:
            views = ", ".join(v.label for v in plan.views if k in v.keys)
            raise FsyncError(f"every entity needs a value of {k!r} (an entity key of {views}).")
    families = plan.key_families()
    out = {}
    for k in wanted:
        family, view = families[k]
        out[k] = [_key_part(v, family, k, view) for v in columns[k]]
    return out, n


_REQUESTS = itertools.count(1)
_PROCESS = secrets.token_hex(6)


def _request_id() -> str:
    """A request id unique across processes: this process's random prefix and a counter."""
    return f"{_PROCESS}-{next(_REQUESTS)}"


def now_us_of(now: datetime | str | None) -> int:
    """`now` (a datetime, naive = UTC, or ISO text; None: the wall clock) in µs since the epoch."""
    if now is None:
        return time.time_ns() // 1000
    if isinstance(now, str):
        try:
            now = datetime.fromisoformat(now.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FsyncError(f"now {now!r} is not an ISO timestamp such as 2024-06-01T00:00:00Z.") from None
    if not isinstance(now, datetime):
        raise FsyncError(f"now must be a datetime or an ISO timestamp, not {now!r}.")
    return to_us(now)


def read(
    store: OnlineStore,
    plan: OnlinePlan,
    rows: EntityRows,
    now: datetime | str | None = None,
    log: bool = False,
    request_id: str | None = None,
) -> OnlineResult:
    """Read a planned service for the entities, in one round trip (logged when `log`)."""
    now_us = now_us_of(now)
    columns, n = entity_columns(plan, rows)
    keys = plan.key_texts(columns, n)
    reads = [ViewRead(v.request.view.store_id, k, v.fields) for v, k in zip(plan.views, keys, strict=True)]
    header = None
    if log:
        request_id = request_id or _request_id()
        header = pack_header(plan.logged_views, request_id, time.time_ns() // 1000, now_us, keys)
    raw = store.read_many(reads, header)
    out: dict[str, list[Any]] = dict(columns)
    statuses: dict[str, list[str]] = {}
    feature_ts: dict[str, list[datetime | None]] = {}
    for view, view_rows in zip(plan.views, raw, strict=True):
        width = len(view.fields)
        states, stamps, unserved = [], [], []
        for i, row in enumerate(view_rows):
            state, ts = served_state(row[width], now_us)
            states.append(state)
            stamps.append(None if ts is None else from_us(ts))
            if state != PRESENT:
                unserved.append(i)
        try:
            cols = [decode([row[j] for row in view_rows]) for j, decode in enumerate(view.decoders)]
        except (ValueError, ArithmeticError):
            raise tampered(f"a value of {view.label}") from None
        for i in unserved:  # never pushed, or expired: no value is served
            for col in cols:
                col[i] = None
        if width:
            for i, state in enumerate(states):
                if state == PRESENT and all(col[i] is None for col in cols):
                    states[i] = NULL  # served, and every value NULL (served_log.status, the one rule)
        for name, col in zip(view.outputs, cols, strict=True):
            out[name] = col
        statuses[view.label] = states
        feature_ts[view.label] = stamps
    return OnlineResult(plan, out, statuses, feature_ts, from_us(now_us), request_id if log else None)


@dataclass
class OnlineResult:
    """What an online read served: one row per entity, in request order, the entity key columns first.

    - `to_dict()`: column -> list of values (as Feast's `OnlineResponse.to_dict()`);
      `to_arrow()` / `to_pandas()`: the same as a table typed by the views' contracts (as the training set).
    - `statuses`: view -> the status of each entity (`present`, `null`, `missing`, `expired`).
    - `feature_ts`: view -> the feature_ts of each entity's served row (None when missing);
      `staleness`: now - feature_ts.
    - `feature_statuses()`: column -> Feast's status of each value.
    """

    plan: OnlinePlan
    columns: dict[str, list[Any]]
    statuses: dict[str, list[str]]
    feature_ts: dict[str, list[datetime | None]]
    now: datetime
    request_id: str | None = None
    _arrow: Any = field(default=None, repr=False)

    @property
    def service(self) -> str | None:
        return self.plan.service.name

    @property
    def feature_names(self) -> list[str]:
        return list(self.plan.feature_names)

    @property
    def entity_columns(self) -> list[str]:
        return list(self.plan.entity_columns)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def to_dict(self) -> dict[str, list[Any]]:
        return {k: list(v) for k, v in self.columns.items()}

    @property
    def staleness(self) -> dict[str, list[timedelta | None]]:
        return {v: [None if t is None else self.now - t for t in ts] for v, ts in self.feature_ts.items()}

    def feature_statuses(self) -> dict[str, list[str]]:
        """Feast's per-value status: PRESENT, NULL_VALUE, NOT_FOUND or OUTSIDE_MAX_AGE."""
        out: dict[str, list[str]] = {}
        for view in self.plan.views:
            states = self.statuses[view.label]
            for name in view.outputs:
                out[name] = [
                    "NULL_VALUE" if s in (PRESENT, NULL) and v is None else FEAST_STATUS[s]
                    for s, v in zip(states, self.columns[name], strict=True)
                ]
        return out

    def to_arrow(self) -> pyarrow.Table:
        import pyarrow as pa

        from fsync.serving.types import arrow_type

        arrays, names = [], []
        first = {k: v for v in self.plan.views for k in v.keys}
        for k in self.plan.entity_columns:
            view = first[k]
            dtype = next((c.data_type for c in view.request.view.columns if c.name == k), None)
            arrays.append(pa.array(self.columns[k], type=arrow_type(dtype)))
            names.append(k)
        for view in self.plan.views:
            for name, dtype in zip(view.outputs, view.types, strict=True):
                arrays.append(pa.array(self.columns[name], type=arrow_type(dtype)))
                names.append(name)
        return pa.Table.from_arrays(arrays, names=names)

    def to_pandas(self) -> pandas.DataFrame:
        return self.to_arrow().to_pandas()
