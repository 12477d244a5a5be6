"""fsync: reads dbt's artifacts as the feature registry and publishes feature views to an online store.

Layers, by the data flow (enforced by import-linter, see pyproject.toml): fsync.manifest (artifacts, specs,
names) and fsync.warehouse (readers) at the bottom; fsync.registry (discovery, checks, locks, training sets)
and fsync.online (push, stores) on top of them, independent of each other; fsync.serving (the SDK, services,
the HTTP server, the served-value log's export), fsync.monitoring and fsync.catalog above; fsync.cli on
top, imported by nothing, beside the orchestrator integrations fsync.dagster and fsync.airflow (optional
extras, imported by nothing either). `from fsync import FeatureStore` is the SDK (importable without click).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

if TYPE_CHECKING:
    from fsync.serving import FeatureStore, OnlineResult

__all__ = ["FeatureStore", "OnlineResult", "__version__"]


def __getattr__(name: str) -> Any:
    """`from fsync import FeatureStore` without importing the SDK (or click) for every fsync import."""
    if name in ("FeatureStore", "OnlineResult"):
        import fsync.serving

        return getattr(fsync.serving, name)
    raise AttributeError(f"module 'fsync' has no attribute {name!r}")
