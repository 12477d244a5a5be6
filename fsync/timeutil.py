"""Durations and naive-UTC timestamps.

The one duration grammar of fstore (docs/semantics.md section 1), the same as the macros'
`fstore._duration_seconds`: a positive integer without leading zeros, then a unit d, h, m or s (`2d`, `26h`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fsync.errors import FsyncError

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)


_DURATION = re.compile(r"([1-9][0-9]*)([dhms])")
DURATION_UNITS = "a positive <integer><unit> without leading zeros, unit d, h, m or s"


def duration_seconds(value: object) -> int | None:
    """Seconds of a duration, or None when `value` is not one."""
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    return int(match.group(1)) * _UNITS[match.group(2)] if match else None


def parse_duration(value: object, what: str) -> int:
    """Seconds of a duration; an FsyncError naming `what` otherwise."""
    seconds = duration_seconds(value)
    if seconds is None:
        raise FsyncError(f"{what} is {value!r}; write {DURATION_UNITS}, e.g. '2d'.")
    return seconds


def parse_as_of(value: str | None) -> datetime:
    """A naive UTC timestamp from ISO text (an offset is converted to UTC); None means the wall clock now.
    An empty text is an error, never "now"."""
    if value is None:
        return datetime.now(UTC).replace(tzinfo=None)
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        if not text:
            raise ValueError
        ts = datetime.fromisoformat(text)
        if ts.tzinfo is not None:
            ts = ts.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise FsyncError(f"--as-of {value!r} is not an ISO timestamp such as 2024-06-01T00:00:00Z.") from None
    return ts


def to_us(ts: datetime) -> int:
    """Microseconds since the epoch of a naive UTC timestamp (exact integer arithmetic)."""
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    delta = ts - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


MAX_US = to_us(datetime.max)
MIN_US = to_us(datetime.min)


def shift(ts: datetime, seconds: float) -> datetime:
    """`ts` plus `seconds` (negative: minus), saturated at datetime.min / datetime.max instead of overflowing
    (an as-of of 0001-01-01 minus a TTL, an enormous TTL)."""
    try:
        return ts + timedelta(seconds=seconds)
    except OverflowError:
        return datetime.max if seconds > 0 else datetime.min


def format_duration(seconds: float) -> str:
    """A duration for people, in the units of the duration grammar: `1d12h`, `36m`, `0s` (rounded down to the
    second; negative: a leading `-`)."""
    sign = "-" if seconds < 0 else ""
    rest = int(abs(seconds))
    parts = []
    for unit in ("d", "h", "m", "s"):
        amount, rest = divmod(rest, _UNITS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + ("".join(parts) or "0s")


def format_instant(ts: datetime) -> str:
    """A naive UTC instant for messages: the date alone at midnight (`2024-12-01`), else ISO 8601."""
    return ts.date().isoformat() if ts == datetime(ts.year, ts.month, ts.day) else ts.isoformat()
