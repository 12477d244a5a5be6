"""A push as every caller runs it (the CLI, the orchestrators in fsync.dagster and fsync.airflow): the options
from the settings, the store and the warehouse opened, the views pushed, both closed, and the watermark each
pushed view ends with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fsync.manifest import FeatureViewSpec, Manifest
from fsync.online.push import Progress, PushOptions, PushSummary, push
from fsync.online.stores import open_store
from fsync.project import DbtProject
from fsync.settings import Settings
from fsync.timeutil import parse_duration
from fsync.warehouse import open_reader, resolve_warehouse


def push_options(
    settings: Settings,
    as_of: datetime | None = None,
    *,
    full_refresh: bool = False,
    dry_run: bool = False,
    allow_future: bool = False,
) -> PushOptions:
    """The push's options from the settings; `as_of` None is the wall clock."""
    wall = datetime.now(UTC).replace(tzinfo=None)
    return PushOptions(
        as_of=as_of if as_of is not None else wall,
        full_refresh=full_refresh,
        dry_run=dry_run,
        batch_size=settings.batch_size,
        lookback_seconds=parse_duration(settings.lookback, "setting lookback"),
        wall_now=wall,
        allow_future=allow_future,
        allow_eviction=settings.allow_eviction,
        lease_ttl_s=settings.lease_ttl,
        lease_wait_s=settings.lease_wait,
        full_refresh_every_s=(
            parse_duration(settings.full_refresh_every, "setting full_refresh_every")
            if settings.full_refresh_every
            else None
        ),
        push_log=settings.push_log,
    )


@dataclass
class Published:
    summary: PushSummary
    watermarks: dict[str, dict[str, Any]] = field(default_factory=dict)  # view label -> its watermark


def publish(
    settings: Settings,
    project: DbtProject,
    manifest: Manifest,
    views: list[FeatureViewSpec],
    opts: PushOptions,
    progress: Progress | None = None,
) -> Published:
    """Push `views` into the store the settings name, from the warehouse of the project's dbt target."""
    store = open_store(settings)
    try:
        reader = open_reader(resolve_warehouse(settings, project, manifest.adapter_type))
        try:
            summary = push(manifest, views, reader, store, opts, progress=progress)
        finally:
            reader.close()
        pushed = {r.view for r in summary.views if r.status == "pushed"}
        watermarks = {}
        for view in views:
            watermark = store.get_watermark(view.store_id) if view.label in pushed else None
            if watermark is not None:
                watermarks[view.label] = watermark
        return Published(summary, watermarks)
    finally:
        store.close()
