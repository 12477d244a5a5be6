"""Typed text encoding of feature values, shared by every online store.

Each value is one string: a one-letter type tag then the value, so that int/float/decimal/bool/string/
timestamp/date round-trip exactly and NULL (`n`) is told apart from an absent field or entity.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from fsync.errors import FsyncError

NULL = "n"
Encoder = Callable[[Any], str]


def _int(v: Any) -> str:
    return NULL if v is None else f"i{v:d}"


def _float(v: Any) -> str:
    return NULL if v is None else "f" + repr(float(v))


def _decimal(v: Any) -> str:
    return NULL if v is None else "d" + str(v)


def _bool(v: Any) -> str:
    return NULL if v is None else ("b1" if v else "b0")


def _str(v: Any) -> str:
    return NULL if v is None else "s" + v


def _timestamp(v: Any) -> str:
    return NULL if v is None else "t" + v.isoformat()


def encode_value(v: Any) -> str:
    """Encode any supported Python value (slower than the per-column encoders)."""
    if v is None:
        return NULL
    if isinstance(v, bool):
        return _bool(v)
    if isinstance(v, int):
        return _int(v)
    if isinstance(v, float):
        return _float(v)
    if isinstance(v, Decimal):
        return _decimal(v)
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, datetime):
        return _timestamp(v)
    if isinstance(v, date):
        return "D" + v.isoformat()
    if isinstance(v, time):
        return "T" + v.isoformat()
    if isinstance(v, UUID):
        return "s" + str(v)
    raise FsyncError(f"cannot encode a value of Python type {type(v).__name__} ({v!r}) for the online store.")


def decode_value(text: str) -> Any:
    tag, body = text[:1], text[1:]
    if tag == "n":
        return None
    if tag == "i":
        return int(body)
    if tag == "f":
        return float(body)
    if tag == "d":
        return Decimal(body)
    if tag == "b":
        return body == "1"
    if tag == "s":
        return body
    if tag == "t":
        return datetime.fromisoformat(body)
    if tag == "D":
        return date.fromisoformat(body)
    if tag == "T":
        return time.fromisoformat(body)
    raise ValueError(f"not an fsync-encoded value: {text!r}")


# Type families: the contract's declared type and the warehouse's actual type must be in the same family.
_FAMILIES: list[tuple[str, str]] = [
    (r"(u?(tiny|small|big|huge)?int(eger)?|int[1248]|long|u?hugeint|serial|bigserial)", "int"),
    (r"(double( precision)?|float[48]?|real)", "float"),
    (r"(decimal|numeric)(\(.*\))?", "decimal"),
    (r"bool(ean)?", "bool"),
    (r"(varchar|text|string|char|character( varying)?|bpchar|nvarchar)(\(.*\))?", "string"),
    (r"(timestamp(_us|_ms|_ns|_s)?( without time zone)?|datetime)(\(\d\))?", "timestamp"),
    (r"(timestamptz|timestamp with time zone|timestamp\(\d\) with time zone)", "timestamptz"),
    (r"date", "date"),
    (r"time( without time zone)?", "time"),
    (r"uuid", "uuid"),
]


def type_family(data_type: str) -> str:
    t = re.sub(r"\s+", " ", data_type.strip().lower())
    for pattern, family in _FAMILIES:
        if re.fullmatch(pattern, t):
            return family
    return "other:" + t


# What a push can serve, by type family: checked for every column before the first write of a view.
FEATURE_FAMILIES = (
    "int",
    "float",
    "decimal",
    "bool",
    "string",
    "timestamp",
    "timestamptz",
    "date",
    "time",
    "uuid",
)
KEY_FAMILIES = ("int", "decimal", "bool", "string", "timestamp", "timestamptz", "date", "uuid")
TIMESTAMP_FAMILIES = ("timestamp", "timestamptz")

_ENCODERS: dict[str, Encoder] = {
    "int": _int,
    "float": _float,
    "decimal": _decimal,
    "bool": _bool,
    "string": _str,
    "timestamp": _timestamp,
    "timestamptz": _timestamp,  # pushes read timestamptz columns as naive UTC (fsync/online/latest.py)
    "date": lambda v: NULL if v is None else "D" + v.isoformat(),
    "time": lambda v: NULL if v is None else "T" + v.isoformat(),
    "uuid": lambda v: NULL if v is None else "s" + str(v),
}


# The same encodings as SQL, for the warehouse to run while it reads (DuckDB and PostgreSQL spell them
# alike): a push reads these columns already encoded, NULL as `n`. Both print a double as the shortest text
# that reads back to the same double, as repr() does (tests/python/fsync/test_stores.py round-trips them).
SQL_ENCODERS: dict[str, str] = {
    "int": "coalesce('i' || cast({c} as varchar), 'n')",
    "float": "coalesce('f' || cast(cast({c} as double precision) as varchar), 'n')",
    "decimal": "coalesce('d' || cast({c} as varchar), 'n')",
    "bool": "case when {c} then 'b1' when not {c} then 'b0' else 'n' end",
    "string": "coalesce('s' || {c}, 'n')",
}


def encoder_for(data_type: str) -> Encoder:
    """The fastest encoder for a column of this warehouse type (generic for the rare ones)."""
    return _ENCODERS.get(type_family(data_type), encode_value)


def entity_key(values: tuple[Any, ...]) -> str:
    """The text of an entity key: the key values joined by `|` (`\\` and `|` escaped inside string parts)."""
    parts = []
    for v in values:
        s = v.isoformat() if isinstance(v, datetime | date) else str(v)
        if "|" in s or "\\" in s:
            s = s.replace("\\", "\\\\").replace("|", "\\|")
        parts.append(s)
    return "|".join(parts)


ColumnEncoder = Callable[[tuple[Any, ...]], list[str]]


def column_encoder(data_type: str) -> ColumnEncoder:
    """Encode a whole column at once (the common types are encoded by the warehouse: SQL_ENCODERS)."""
    one = encoder_for(data_type)
    return lambda col: [one(v) for v in col]


ColumnDecoder = Callable[[list[str | None]], list[Any]]


def _decode_column_int(col: list[str | None]) -> list[Any]:
    return [None if v is None else int(v[1:]) if v[0] == "i" else decode_value(v) for v in col]


def _decode_column_float(col: list[str | None]) -> list[Any]:
    return [None if v is None else float(v[1:]) if v[0] == "f" else decode_value(v) for v in col]


def _decode_column_str(col: list[str | None]) -> list[Any]:
    return [None if v is None else v[1:] if v[0] == "s" else decode_value(v) for v in col]


def _decode_column_any(col: list[str | None]) -> list[Any]:
    return [None if v is None else decode_value(v) for v in col]


_COLUMN_DECODERS: dict[str, ColumnDecoder] = {
    "int": _decode_column_int,
    "float": _decode_column_float,
    "string": _decode_column_str,
}


def column_decoder(data_type: str | None) -> ColumnDecoder:
    """Decode a column of stored texts (None: absent) at once, fastest for the declared type; a value of any
    other tag (NULL included) is still decoded exactly by decode_value."""
    return _COLUMN_DECODERS.get(type_family(data_type or ""), _decode_column_any)
