"""What every command shares: settings parsed once from defaults < file < FSYNC_* < flags, the dbt project
and its manifest, the warehouse, and the one mapping of expected failures to exit codes."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import click

from fsync.cli.output import to_json
from fsync.errors import ExitCode, FsyncError
from fsync.manifest import Manifest, load_manifest
from fsync.project import DbtProject, load_project
from fsync.settings import Settings, load_settings
from fsync.warehouse import Warehouse, resolve_warehouse


@dataclass
class Invocation:
    settings: Settings

    @cached_property
    def project(self) -> DbtProject:
        return load_project(self.settings)

    @cached_property
    def manifest(self) -> Manifest:
        return load_manifest(self.project.target_path)

    @cached_property
    def warehouse(self) -> Warehouse:
        return resolve_warehouse(self.settings, self.project, self.manifest.adapter_type)

    @property
    def project_dir(self) -> Path:
        return Path(self.settings.project_dir)


def invocation(flags: dict[str, Any]) -> Invocation:
    """The settings of this run from the command's flags (each command passes the options it has)."""
    config_file = flags.pop("config_file", None)
    return Invocation(load_settings(flags, config_file=config_file))


def handle_errors(fn: Callable[..., int | None]) -> Callable[..., None]:
    """Expected failures print one line (or, with --json, a JSON error object) and exit with their code; a
    traceback only ever means a bug."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        as_json = bool(kwargs.get("as_json"))
        try:
            code = fn(*args, **kwargs) or 0
        except FsyncError as exc:
            fail(" ".join(str(exc).split()), int(exc.exit_code), exc.kind, as_json)
        except OSError as exc:  # a file fsync was told to read or write: --out, --lock-file, a config file
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"cannot use {where}{exc.strerror or exc}.", int(ExitCode.USER_ERROR), "user_error", as_json)
        sys.exit(int(code))

    return wrapper


def fail(message: str, exit_code: int, kind: str, as_json: bool) -> None:
    """Print one error line (or, with --json, one JSON error object on stdout) and exit."""
    if as_json:
        click.echo(to_json({"error": {"exit_code": exit_code, "kind": kind, "message": message}}))
    else:
        click.echo(f"fsync: error: {message}", err=True)
    sys.exit(exit_code)
