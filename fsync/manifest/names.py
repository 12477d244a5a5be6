"""One way to name a feature-view version, and one resolver used by every command.

Canonical display: `name` for an unversioned view, `name@N` for version N. Accepted spellings of a view:
`name`, `name@N`, `name@vN`, `name.vN` (dbt's selector) and `name_vN` (the relation dbt builds). A feature is
`VIEW:FEATURE` (as in Feast), e.g. `user_purchase_features@2:purchase_count_30d`.

A view named without a version means every version where a command acts on a selection (push, impact,
features show) and the latest version where it needs one (get, training-set, the SDK).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from fsync.errors import FsyncError

_VERSIONED = (
    re.compile(r"(?P<name>[^@]+)@v?(?P<version>\d+)"),
    re.compile(r"(?P<name>.+)\.v(?P<version>\d+)"),
)


@dataclass(frozen=True)
class ViewRef:
    """What a user wrote for a view, parsed: a model name and maybe a version."""

    text: str
    name: str
    version: int | None = None

    @property
    def display(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"


@dataclass(frozen=True)
class FeatureRef:
    view: ViewRef
    feature: str

    @property
    def display(self) -> str:
        return f"{self.view.display}:{self.feature}"


def display(name: str, version: int | None) -> str:
    return name if version is None else f"{name}@{version}"


def parse_view_ref(text: str) -> ViewRef:
    """`name`, `name@N`, `name@vN`, `name.vN`; `name_vN` is resolved by the Manifest (it knows relations)."""
    spec = text.strip()
    if not spec:
        raise FsyncError("a feature view name is empty; write e.g. user_purchase_features@2.")
    if "@" in spec and not _VERSIONED[0].fullmatch(spec):
        raise FsyncError(f"{text!r}: the version after '@' must be a number, e.g. {spec.split('@')[0]}@2.")
    for pattern in _VERSIONED:
        m = pattern.fullmatch(spec)
        if m:
            return ViewRef(text, m.group("name"), int(m.group("version")))
    return ViewRef(text, spec)


def parse_feature_ref(text: str) -> FeatureRef:
    view, sep, feature = text.strip().partition(":")
    if not sep or not feature.strip() or not view.strip():
        hint = ""
        m = re.fullmatch(r"([^.@:]+)\.([^@:]+)(@v?\d+)?", text.strip())
        if m and not re.fullmatch(r"v\d+", m.group(2)):
            hint = f" (did you mean {m.group(1)}{m.group(3) or ''}:{m.group(2)}?)"
        raise FsyncError(
            f"{text!r} is not a feature; write VIEW:FEATURE, e.g."
            f" user_purchase_features@2:purchase_count_30d{hint}."
        )
    return FeatureRef(parse_view_ref(view), feature.strip())


def did_you_mean(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""
