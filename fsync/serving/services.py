"""Feature services: named sets of features shaped like a training set, resolved once from the manifest.

- Every training-set model (`meta.training_set`) is a service of its own name: the views, versions, columns
  and prefixes of its `fstore.feature_view(...)` entries, so `service="training_churn"` serves exactly the
  training set's feature columns (`purchase__purchase_count_30d`, ...).
- An exposure may declare a service of its own name in `meta.feature_service`, for a model not trained
  through a dbt training set (or to serve a training set under the model's name):

      exposures:
        - name: fraud_model
          meta:
            feature_service:
              features: [user_purchase_features@1:purchase_count_30d, user_session_features:session_count_7d]
              prefixes: {user_purchase_features@1: purchase__}   # default: <view name>__
              log: 0.1                                           # served-value log: false, true or a rate
        - name: churn_model
          meta:
            feature_service: {training_set: training_churn, log: true}

- A training-set model may set its own logging in `meta.feature_service: {log: ...}`.

A list of features (`VIEW:FEATURE`, ...) is an unnamed service: columns `<view name>__<feature>`, as
`fsync training-set` names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fsync.errors import FsyncError
from fsync.manifest import Manifest
from fsync.manifest.graph import Node
from fsync.manifest.names import did_you_mean
from fsync.registry.training_set import ViewRequest, declared_views, parse_features

SERVICE_KEYS = ("features", "training_set", "prefixes", "log")


@dataclass(frozen=True)
class FeatureService:
    """A resolved service: the views it reads (in order), their columns and output names, and its logging."""

    name: str | None  # None for an unnamed list of features
    views: tuple[ViewRequest, ...]
    log_rate: float  # the share of reads written to the served-value log (0 = off, 1 = every read)
    kind: str  # training_set | exposure | features
    description: str = ""
    training_set: str | None = None  # the training-set model the service is shaped like, if any
    label_timestamp: str | None = None
    entity_keys: tuple[str, ...] = ()

    @property
    def feature_names(self) -> list[str]:
        return [name for v in self.views for name in v.outputs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "training_set": self.training_set,
            "description": self.description,
            "log_rate": self.log_rate,
            "entity_keys": list(self.entity_columns),
            "feature_names": self.feature_names,
            "views": [
                {
                    "view": v.view.label,
                    "prefix": v.prefix,
                    "features": list(v.columns),
                    "columns": list(v.outputs),
                    "ttl": v.view.ttl,
                }
                for v in self.views
            ],
        }

    @property
    def entity_columns(self) -> tuple[str, ...]:
        """The entity key columns a request names: every view's keys, in first-seen order."""
        keys: dict[str, None] = {}
        for v in self.views:
            keys.update(dict.fromkeys(v.view.entity_keys))
        return tuple(keys)


def _log_rate(value: Any, where: str) -> float:
    if value is None or value is False:
        return 0.0
    if value is True:
        return 1.0
    if isinstance(value, int | float) and 0 <= float(value) <= 1:
        return float(value)
    raise FsyncError(f"{where}.log is {value!r}; write false, true or a sampling rate between 0 and 1.")


def features_service(
    manifest: Manifest, features: Sequence[str], prefixes: dict[str, str] | None = None
) -> FeatureService:
    """An unnamed service from `VIEW:FEATURE` items (resolved and prefixed as by fsync training-set)."""
    if isinstance(features, str):
        features = [features]
    if not features:
        raise FsyncError("features is empty; name at least one VIEW[@VERSION]:FEATURE.")
    for f in features:
        if "," in f:
            raise FsyncError(f"{f!r}: give one feature per item, e.g. ['view:a', 'view:b'].")
    views = parse_features(",".join(features), manifest, prefixes or {})
    return FeatureService(None, views, 0.0, "features")


def _exposure_service(manifest: Manifest, node: Node, training: dict[str, FeatureService]) -> FeatureService:
    where = f"exposure {node.name}: meta.feature_service"
    spec = node.meta.get("feature_service")
    if not isinstance(spec, dict):
        raise FsyncError(f"{where} must be a mapping with `features` or `training_set`.")
    unknown = sorted(set(spec) - set(SERVICE_KEYS))
    if unknown:
        raise FsyncError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(SERVICE_KEYS)}.")
    rate = _log_rate(spec.get("log"), where)
    if ("features" in spec) == ("training_set" in spec):
        raise FsyncError(
            f"{where}: give exactly one of `features` (a list of VIEW:FEATURE) or `training_set`."
        )
    if "training_set" in spec:
        name = str(spec["training_set"])
        if name not in training:
            raise FsyncError(
                f"{where}: training_set {name!r} is not a training-set model."
                + did_you_mean(name, list(training))
            )
        base = training[name]
        return FeatureService(
            node.name,
            base.views,
            rate,
            "exposure",
            node.description,
            name,
            base.label_timestamp,
            base.entity_keys,
        )
    features = spec["features"]
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise FsyncError(f"{where}.features must be a list of VIEW:FEATURE.")
    prefixes = spec.get("prefixes") or {}
    if not isinstance(prefixes, dict):
        raise FsyncError(f"{where}.prefixes must map VIEW[@N] to a column prefix.")
    try:
        base = features_service(manifest, features, {str(k): str(v) for k, v in prefixes.items()})
    except FsyncError as exc:
        raise FsyncError(f"{where}: {exc}") from None
    return FeatureService(node.name, base.views, rate, "exposure", node.description)


@dataclass(frozen=True)
class ServiceRegistry:
    """Every named service of a manifest; a service that cannot be resolved keeps its problem, reported when
    it is used (and by `fsync serve` at start)."""

    services: dict[str, FeatureService]
    problems: dict[str, str]

    def get(self, name: str) -> FeatureService:
        if name in self.services:
            return self.services[name]
        if name in self.problems:
            raise FsyncError(f"feature service {name!r} cannot be served: {self.problems[name]}")
        known = sorted(self.services)
        raise FsyncError(
            f"no feature service named {name!r}.{did_you_mean(name, known)}"
            f" Known services: {', '.join(known) or 'none'} (training sets, and exposures with"
            " meta.feature_service)."
        )


def load_services(manifest: Manifest) -> ServiceRegistry:
    services: dict[str, FeatureService] = {}
    problems: dict[str, str] = {}
    for ts in manifest.training_sets:
        node = ts.node
        try:
            views = declared_views(manifest, ts)
            own = node.meta.get("feature_service") or {}
            if not isinstance(own, dict):
                raise FsyncError(
                    f"{node.label}: meta.feature_service must be a mapping such as {{log: true}}."
                )
            rate = _log_rate(own.get("log"), f"training set {node.label}: meta.feature_service")
            services[node.name] = FeatureService(
                node.name,
                views,
                rate,
                "training_set",
                " ".join(node.description.split()),
                node.name,
                ts.label_timestamp or None,
                ts.entity_keys,
            )
        except FsyncError as exc:
            problems[node.name] = str(exc)
    training = dict(services)
    for node in manifest.graph.exposures():
        if "feature_service" not in node.meta:
            continue
        try:
            if node.name in services:
                raise FsyncError(f"exposure {node.name}: a training set already has the service name.")
            services[node.name] = _exposure_service(manifest, node, training)
        except FsyncError as exc:
            problems[node.name] = str(exc)
    return ServiceRegistry(services, problems)
