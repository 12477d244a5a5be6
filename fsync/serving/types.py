"""The Arrow type of a contract data type, so an online read converts to the same table types as the
training set it is shaped like (DuckDB's types for the same SQL types)."""

from __future__ import annotations

import re
from typing import Any

_SIMPLE = {
    "tinyint": "int8",
    "int1": "int8",
    "smallint": "int16",
    "int2": "int16",
    "integer": "int32",
    "int": "int32",
    "int4": "int32",
    "bigint": "int64",
    "int8": "int64",
    "long": "int64",
    "hugeint": "decimal38",
    "real": "float32",
    "float4": "float32",
    "float": "float32",
    "double": "float64",
    "double precision": "float64",
    "float8": "float64",
    "boolean": "bool_",
    "bool": "bool_",
    "varchar": "string",
    "text": "string",
    "string": "string",
    "date": "date32",
    "timestamp": "timestamp",
    "timestamp without time zone": "timestamp",
    "datetime": "timestamp",
    "timestamptz": "timestamptz",
    "timestamp with time zone": "timestamptz",
    "time": "time64",
}


def arrow_type(data_type: str | None) -> Any:
    """A pyarrow type for a contract data type; None (let Arrow infer) when unknown or untyped."""
    import pyarrow as pa

    if not data_type:
        return None
    t = re.sub(r"\s+", " ", data_type.strip().lower())
    m = re.fullmatch(r"(decimal|numeric)\s*\((\d+)\s*(?:,\s*(\d+))?\)", t)
    if m:
        return pa.decimal128(int(m.group(2)), int(m.group(3) or 0))
    if t in ("decimal", "numeric"):
        return pa.decimal128(18, 3)  # DuckDB's default DECIMAL
    t = re.sub(r"\(.*\)$", "", t).strip()
    kind = _SIMPLE.get(t)
    if kind is None:
        return None
    if kind == "decimal38":
        return pa.decimal128(38, 0)
    if kind == "timestamp":
        return pa.timestamp("us")
    if kind == "timestamptz":
        return pa.timestamp("us", tz="UTC")
    if kind == "time64":
        return pa.time64("us")
    return getattr(pa, kind)()
