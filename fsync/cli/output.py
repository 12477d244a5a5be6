"""What fsync prints: one JSON representation for every command's `--json`, and the progress bar.

JSON is strict (RFC 8259): floats NaN/Infinity become the strings "NaN", "Infinity", "-Infinity"; decimals are
strings (exact); timestamps and dates are ISO 8601 strings (naive timestamps hold UTC); sets become lists.
"""

from __future__ import annotations

import json
import math
import sys
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

import click


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


def to_json(value: Any, indent: int | None = 2) -> str:
    return json.dumps(jsonable(value), indent=indent, allow_nan=False, ensure_ascii=False)


def echo_json(value: Any) -> None:
    click.echo(to_json(value))


class Progress:
    """A progress bar on stderr for long pushes (only on a terminal, never with --json)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.view: str | None = None
        self.bar: Any = None
        self.done = 0

    def update(self, view: str, done: int, total: int) -> None:
        if not self.enabled or total < 20_000:
            return
        if view != self.view:
            self.close()
            self.view, self.done = view, 0
            self.bar = click.progressbar(length=total, label=f"pushing {view}", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
