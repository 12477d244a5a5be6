"""`FeatureStore`: the Python SDK over a dbt project — training sets for any labels, online reads by feature
names or by service — with the registry loaded once and no registry work per request.

    from fsync import FeatureStore

    fs = FeatureStore("examples/demo")                          # the dbt project; settings as for fsync
    ts = fs.get_historical_features(labels_df, training_set="training_churn").to_pandas()
    row = fs.get_online_features(entity_rows=[{"user_id": 1150}], service="training_churn").to_dict()
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fsync.errors import FsyncError
from fsync.manifest import Manifest, load_manifest
from fsync.online.stores import OnlineStore, open_store
from fsync.project import DbtProject, chosen_target, load_project, profiles_dir
from fsync.registry.training_set import parse_features
from fsync.serving.historical import HistoricalFeatures, Project
from fsync.serving.online import EntityRows, OnlinePlan, OnlineResult, read
from fsync.serving.services import FeatureService, ServiceRegistry, features_service, load_services
from fsync.settings import Settings, load_settings
from fsync.warehouse import Warehouse, resolve_warehouse

if TYPE_CHECKING:
    import pyarrow


class FeatureStore:
    """A dbt project's features: the registry (manifest, feature views, services) read once at start.

    Args:
        project_dir: the dbt project directory (where dbt_project.yml is).
        target: the dbt target (default: as dbt chooses: DBT_TARGET, the target the manifest was built with,
            the profile's default); the warehouse is the profile's target.
        target_path: where manifest.json is (default: as dbt finds it).
        profiles_dir: where profiles.yml is (default: as dbt finds it).
        config_file: an fsync config file (default: fsync.toml or [tool.fsync] in the project).
        env: the environment to read FSYNC_* settings from (default: os.environ).
        **settings: any fsync setting (fsync/settings.py), e.g. store="redis", redis_url=..., sqlite_path=...,
            key_prefix=...; they override the config file and FSYNC_* variables.

    The online store is opened on the first online read, the warehouse on the first historical one. One
    instance may serve several threads (online reads are serialized per store connection).
    """

    def __init__(
        self,
        project_dir: str | Path = ".",
        target: str | None = None,
        *,
        target_path: str | Path | None = None,
        profiles_dir: str | Path | None = None,
        config_file: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        **settings: Any,
    ) -> None:
        flags: dict[str, Any] = {
            "project_dir": str(project_dir),
            "target": target,
            "target_path": str(target_path) if target_path is not None else None,
            "profiles_dir": str(profiles_dir) if profiles_dir is not None else None,
            **settings,
        }
        self.settings: Settings = load_settings(
            flags,
            env=dict(env) if env is not None else None,
            config_file=Path(config_file) if config_file else None,
        )
        self._lock = threading.Lock()
        self._store: OnlineStore | None = None
        self._warehouse: Warehouse | None = None
        self._historical: HistoricalFeatures | None = None
        self.reload()

    # -- the registry --------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the manifest again (after a dbt build): views, services and the plans made from them."""
        project = load_project(self.settings)
        manifest = load_manifest(project.target_path)
        services = load_services(manifest)
        with self._lock:
            self.project: DbtProject = project
            self.manifest: Manifest = manifest
            self.services: ServiceRegistry = services
            self._plans: dict[Any, OnlinePlan] = {}
            self._historical = None

    def list_services(self) -> list[FeatureService]:
        """Every named service: the training sets, and exposures with meta.feature_service."""
        return [self.services.services[n] for n in sorted(self.services.services)]

    def service(self, name: str) -> FeatureService:
        return self.services.get(name)

    def plan(self, features: Sequence[str] | None = None, service: str | None = None) -> OnlinePlan:
        """The resolved read of a service or a feature list (cached: no registry work on later requests)."""
        if (features is None) == (service is None):
            raise FsyncError("give either features=[...] or service=NAME.")
        key: Any = ("service", service) if service is not None else ("features", tuple(features or ()))
        plan = self._plans.get(key)
        if plan is None:
            if service is not None:
                resolved = self.services.get(service)
            else:
                resolved = features_service(self.manifest, list(features or ()))
            for v in resolved.views:
                if not v.view.online:
                    raise FsyncError(
                        f"{v.view.label} is not published online (meta.feature_view.online = false);"
                        " read it with get_historical_features."
                    )
            plan = OnlinePlan.of(resolved)
            self._plans[key] = plan
        return plan

    # -- online ---------------------------------------------------------------------------------------
    @property
    def store(self) -> OnlineStore:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.settings)
        return self._store

    def get_online_features(
        self,
        entity_rows: EntityRows,
        features: Sequence[str] | None = None,
        service: str | None = None,
        now: datetime | str | None = None,
        *,
        log: bool | None = None,
        request_id: str | None = None,
    ) -> OnlineResult:
        """The online values of many entities, in one round trip per store.

        Args:
            entity_rows: one mapping of entity key column to value per entity (`[{"user_id": 1150}]`), or
                Feast's column form (`{"user_id": [1150, 1151]}`).
            features: `VIEW:FEATURE` names (`user_purchase_features@2:purchase_count_30d`; no version: the
                latest); columns are named `<view name>__<feature>`.
            service: a service name instead (a training set, or an exposure's meta.feature_service): columns
                named exactly as in the training set.
            now: the instant values are served at (expiry), a datetime (naive = UTC) or ISO text; default
                the wall clock.
            log: write this read to the served-value log (default: the service's `log` rate).
            request_id: the id logged with the read (default: a new one).
        """
        plan = self.plan(features, service)
        if log is None:
            rate = plan.service.log_rate
            log = rate >= 1.0 or (rate > 0.0 and random.random() < rate)
        return read(self.store, plan, entity_rows, now, log=log, request_id=request_id)

    # -- historical -------------------------------------------------------------------------------------
    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = resolve_warehouse(self.settings, self.project, self.manifest.adapter_type)
        return self._warehouse

    def get_historical_features(
        self,
        labels: Any,
        features: Sequence[str] | None = None,
        training_set: str | None = None,
        label_timestamp: str | None = None,
        entity_keys: Sequence[str] | None = None,
        prefixes: Mapping[str, str] | None = None,
        available_at: str | None = None,
    ) -> pyarrow.Table:
        """A point-in-time-correct training set: every label row, in order, with each view's row as of its
        label timestamp (the same compiled fstore.point_in_time_join as the dbt training-set models).

        Args:
            labels: a pandas DataFrame or pyarrow Table, a model/seed name of the project, a relation, or a
                .csv/.parquet file.
            features: `VIEW:FEATURE` names (columns `<view name>__<feature>`, or `prefixes`), or
            training_set: a training-set model whose views, columns and prefixes to use.
            label_timestamp: the labels' timestamp column (default: the training set's, else `label_ts`).
            entity_keys: the labels' key columns (default: the training set's, else the first view's keys).
            available_at: the push log relation (`fsync logs export --push-log`, e.g. "main.fsync_push_log"):
                join each label to what the online store served at label_ts, push delays included, instead of
                the row with the greatest feature_ts <= label_ts (docs/availability.md). Columns
                `<prefix>available_at` (when that served state began) join the view's.
        Returns a pyarrow Table (`.to_pandas()` for a DataFrame). The SQL is compiled by dbt once per shape.
        """
        if (features is None) == (training_set is None):
            raise FsyncError("give either features=[...] or training_set=NAME.")
        if training_set is not None:
            ts = self.services.get(training_set)
            if ts.training_set is None:
                raise FsyncError(f"service {training_set!r} is not shaped like a training set.")
            views = ts.views
            label_ts = label_timestamp or ts.label_timestamp or "label_ts"
            keys = tuple(entity_keys or ts.entity_keys or views[0].view.entity_keys)
        else:
            items = [features] if isinstance(features, str) else list(features or ())
            views = parse_features(",".join(items), self.manifest, dict(prefixes or {}))
            label_ts = label_timestamp or "label_ts"
            keys = tuple(entity_keys or views[0].view.entity_keys)
        if self._historical is None:
            project = Project(
                project_dir=Path(self.settings.project_dir),
                target=chosen_target(self.settings, self.project),
                profiles_dir=str(profiles_dir(self.settings, os.environ)),
                cache_dir=self.project.target_path / "fsync" / "compiled",
                profile=self.project.profile,
            )
            self._historical = HistoricalFeatures(self.manifest, project, self.warehouse)
        return self._historical.run(labels, views, label_ts, keys, available_at)

    def flush_log(self) -> None:
        """Append the served-value log entries still waiting for a round trip to the store (Redis sends a
        logged read's entry ahead of the next one; `close()` and the HTTP server, every 100 ms, flush)."""
        if self._store is not None:
            self._store.flush_log()

    # -- lifecycle -----------------------------------------------------------------------------------------
    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
