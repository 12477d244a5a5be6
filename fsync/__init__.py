"""fsync: reads dbt's artifacts as the feature registry and publishes feature views to an online store.

Layers, by the data flow (enforced by import-linter, see pyproject.toml): fsync.manifest (artifacts, specs,
names) and fsync.warehouse (readers) at the bottom; fsync.registry (discovery, checks, locks, training sets)
and fsync.online (push, stores) on top of them, independent of each other; fsync.catalog above; fsync.cli on
top, imported by nothing.
"""

__version__ = "0.2.0"
