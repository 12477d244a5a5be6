"""A static, self-contained HTML catalog of the feature views (no click here; see fsync/cli/catalog.py)."""

from fsync.catalog.build import build_catalog

__all__ = ["build_catalog"]
