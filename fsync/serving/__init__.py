"""The serving layer: the Python SDK (`FeatureStore`), feature services shaped like training sets, the HTTP
feature server (fsync.serving.server) and the export of the served-value log (fsync.serving.export).
Above fsync.online and fsync.registry; below the CLI; never imports click."""

from fsync.serving.online import OnlineResult
from fsync.serving.services import FeatureService
from fsync.serving.store import FeatureStore

__all__ = ["FeatureService", "FeatureStore", "OnlineResult"]
