"""The manifest layer: dbt's artifacts read as the feature registry (graph, specs, names, build health).
Imports neither the online nor the registry side."""

from fsync.manifest.manifest import Manifest, load_manifest, parse_manifest
from fsync.manifest.spec import Column, FeatureViewSpec, Problem, TrainingSetSpec

__all__ = [
    "Column",
    "FeatureViewSpec",
    "Manifest",
    "Problem",
    "TrainingSetSpec",
    "load_manifest",
    "parse_manifest",
]
