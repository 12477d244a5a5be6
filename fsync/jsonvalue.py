"""One JSON representation of fsync's values, for every `--json`, the HTTP server and the served-value log.

Strict JSON (RFC 8259): floats NaN/Infinity become the strings "NaN", "Infinity", "-Infinity"; decimals are
strings (exact); timestamps and dates are ISO 8601 strings (naive timestamps hold UTC); sets become lists.
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any


def jsonable(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return int(value) if isinstance(value, Enum) else value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def dumps(value: Any, indent: int | None = None) -> str:
    """Strict JSON text of a value (compact unless `indent`)."""
    separators = (",", ":") if indent is None else None
    return json.dumps(
        jsonable(value), indent=indent, allow_nan=False, ensure_ascii=False, separators=separators
    )
