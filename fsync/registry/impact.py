"""`fsync impact`: what a change of a feature view, a feature or any node affects downstream."""

from __future__ import annotations

import re
from typing import Any

from fsync.errors import FsyncError
from fsync.manifest import Manifest

_DOTTED_FEATURE = re.compile(r"([^.@:]+)\.([^@:]+?)(@v?\d+)?")


def impact(manifest: Manifest, target: str) -> dict[str, Any]:
    """TARGET is a view (`name` = every version, `name@N`), a feature `VIEW:FEATURE`, or a model, seed or
    source name. Returns the affected models, training sets and exposures."""
    view_text, sep, feature = target.strip().partition(":")
    try:
        nodes = manifest.nodes_named(view_text)
    except FsyncError as exc:
        m = _DOTTED_FEATURE.fullmatch(view_text)
        if m and not sep and not re.fullmatch(r"v\d+", m.group(2)):
            raise FsyncError(
                f"{exc} A feature is written VIEW:FEATURE, e.g. {m.group(1)}{m.group(3) or ''}:{m.group(2)}."
            ) from None
        raise
    if sep:
        for node in nodes:
            if node.is_feature_view:
                manifest.feature(f"{node.label}:{feature}")
            elif node.columns and feature not in [c[0] for c in node.columns]:
                raise FsyncError(f"{target!r}: {node.label} has no column {feature!r}.")
    result = manifest.graph.impact(tuple(nodes), feature.strip() or None)
    return {"target": target, **result.to_dict()}
