"""What fsync prints: one JSON representation for every command's `--json` (fsync/jsonvalue.py), and the
progress bar."""

from __future__ import annotations

import sys
from typing import Any

import click

from fsync.jsonvalue import dumps


def to_json(value: Any, indent: int | None = 2) -> str:
    return dumps(value, indent=indent)


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
