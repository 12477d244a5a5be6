"""The dbt project fsync works on, found the way dbt finds it: its target path (where manifest.json is)
and the warehouse of its profile's target, so that a user configures the warehouse once, in profiles.yml.

- target path: fsync's `target_path` setting (flag, FSYNC_TARGET_PATH, fsync.toml), else DBT_TARGET_PATH, else
  `target-path` in dbt_project.yml, else `target`; relative to the project directory.
- profiles.yml: fsync's `profiles_dir` setting (flag --profiles-dir, FSYNC_PROFILES_DIR), else
  DBT_PROFILES_DIR, else the current directory if it holds a profiles.yml, else ~/.dbt (dbt's own order).
- target: fsync's `target` setting (--target, FSYNC_TARGET), else DBT_TARGET, else the target named in
  run_results.json (the invocation that built the manifest), else the profile's default `target:`.
- values are rendered as dbt renders them: `{{ env_var('X', 'default') }}`, with the filters as_number,
  as_bool, as_native and as_text. A relative DuckDB path is relative to the current directory, as for dbt
  (which opens it from where it was started, also with --project-dir).
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from fsync.errors import FsyncError
from fsync.redact import redact_dsn
from fsync.settings import Settings

_TYPED_FILTERS = ("as_number", "as_bool", "as_native")


@dataclass(frozen=True)
class WarehouseTarget:
    """The warehouse to read: its type and connection fields (rendered; may hold a password)."""

    type: str  # duckdb | postgres | ...
    fields: Mapping[str, Any] = field(default_factory=dict, repr=False)
    source: str = ""  # where it came from, e.g. "profile fstore, target duckdb (profiles.yml in /x)"

    def duckdb_path(self) -> Path:
        path = Path(os.path.expanduser(str(self.fields.get("path") or "")))
        return path if path.is_absolute() else Path.cwd() / path

    def spark_warehouse(self) -> Path:
        """spark.sql.warehouse.dir of a Spark target (Spark's default `spark-warehouse`), from the current
        directory as dbt-spark's session resolves it."""
        params = self.fields.get("server_side_parameters") or {}
        value = params.get("spark.sql.warehouse.dir") if isinstance(params, Mapping) else None
        text = str(value or "spark-warehouse").removeprefix("file:")
        path = Path(os.path.expanduser(text))
        return path if path.is_absolute() else Path.cwd() / path

    def postgres_dsn(self) -> str:
        if self.fields.get("dsn"):
            return str(self.fields["dsn"])
        names = {
            "host": "host",
            "port": "port",
            "user": "user",
            "password": "password",
            "dbname": "dbname",
            "database": "dbname",
            "sslmode": "sslmode",
            "connect_timeout": "connect_timeout",
            "sslrootcert": "sslrootcert",
            "sslcert": "sslcert",
            "sslkey": "sslkey",
        }
        parts = []
        for key, libpq in names.items():
            value = self.fields.get(key)
            if value not in (None, ""):
                parts.append(f"{libpq}={_libpq_quote(str(value))}")
        return " ".join(parts)

    def describe(self) -> str:
        if self.type == "duckdb":
            return f"DuckDB file {self.duckdb_path()}"
        if self.type == "postgres":
            return f"PostgreSQL ({redact_dsn(self.postgres_dsn())})"
        return self.type


def _libpq_quote(value: str) -> str:
    if value and not any(c in value for c in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class DbtProject:
    project_dir: Path
    name: str
    profile: str | None
    target_path: Path

    @property
    def manifest_path(self) -> Path:
        return self.target_path / "manifest.json"


def load_project(settings: Settings, env: Mapping[str, str] | None = None) -> DbtProject:
    env = os.environ if env is None else env
    project_dir = Path(settings.project_dir)
    doc: dict[str, Any] = {}
    project_file = project_dir / "dbt_project.yml"
    if project_file.is_file():
        try:
            loaded = yaml.safe_load(project_file.read_text())
        except yaml.YAMLError as exc:
            raise FsyncError(f"{project_file} is not valid YAML ({exc}).") from None
        doc = loaded if isinstance(loaded, dict) else {}
    target = settings.target_path or env.get("DBT_TARGET_PATH") or str(doc.get("target-path") or "target")
    return DbtProject(
        project_dir=project_dir,
        name=str(doc.get("name") or project_dir.resolve().name),
        profile=str(doc["profile"]) if doc.get("profile") else None,
        target_path=settings.path(target),
    )


def profiles_dir(settings: Settings, env: Mapping[str, str]) -> Path:
    if settings.profiles_dir:
        return Path(os.path.expanduser(settings.profiles_dir))
    if env.get("DBT_PROFILES_DIR"):
        return Path(os.path.expanduser(env["DBT_PROFILES_DIR"]))
    if (Path.cwd() / "profiles.yml").is_file():
        return Path.cwd()
    return Path.home() / ".dbt"


def _render(value: Any, env: Mapping[str, str], where: str) -> Any:
    """A profile value rendered as dbt renders it (strings only; nested mappings and lists recursively)."""
    if isinstance(value, dict):
        return {k: _render(v, env, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, env, where) for v in value]
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value

    def env_var(name: str, default: str | None = None) -> str:
        if name in env:
            return env[name]
        if default is not None:
            return str(default)
        raise FsyncError(f"{where}: env var {name!r} is required by the dbt profile but not set.")

    jenv = jinja2.Environment(undefined=jinja2.StrictUndefined)
    for name in (*_TYPED_FILTERS, "as_text"):
        jenv.filters[name] = lambda v: v
    try:
        text = jenv.from_string(value).render(env_var=env_var)
    except jinja2.TemplateError as exc:
        raise FsyncError(f"{where}: cannot render {value!r} ({exc}).") from None
    if "as_bool" in value:
        return text.strip().lower() in ("true", "1", "yes", "on")
    if "as_number" in value or "as_native" in value:
        try:
            return ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise FsyncError(f"{where}: {text!r} is not a number.") from None
    return text


def _run_results_target(project: DbtProject) -> str | None:
    path = project.target_path / "run_results.json"
    try:
        target = json.loads(path.read_text()).get("args", {}).get("target")
    except (OSError, ValueError, AttributeError):
        return None
    return str(target) if target else None


def chosen_target(
    settings: Settings, project: DbtProject, env: Mapping[str, str] | None = None
) -> str | None:
    """The dbt target fsync uses: --target / FSYNC_TARGET, else DBT_TARGET, else the target the manifest was
    built with (run_results.json); None means the profile's default."""
    env = os.environ if env is None else env
    return settings.target or env.get("DBT_TARGET") or _run_results_target(project) or None


def load_warehouse_target(
    settings: Settings, project: DbtProject, env: Mapping[str, str] | None = None
) -> WarehouseTarget:
    """The dbt profile's target for this project, rendered. FsyncError (exit 2) when it cannot be found."""
    env = os.environ if env is None else env
    directory = profiles_dir(settings, env)
    path = directory / "profiles.yml"
    if not project.profile:
        raise FsyncError(
            f"{project.project_dir / 'dbt_project.yml'} names no profile, so fsync cannot find the warehouse;"
            " add `profile:` to it, or set FSYNC_DUCKDB_PATH / FSYNC_POSTGRES_DSN."
        )
    if not path.is_file():
        raise FsyncError(
            f"no profiles.yml in {directory} for profile {project.profile!r}; pass --profiles-dir or set"
            " DBT_PROFILES_DIR (as for dbt), or set FSYNC_DUCKDB_PATH / FSYNC_POSTGRES_DSN."
        )
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise FsyncError(f"{path} is not valid YAML ({exc}).") from None
    profile = doc.get(project.profile) if isinstance(doc, dict) else None
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        raise FsyncError(f"{path} has no profile {project.profile!r} with `outputs:`.")
    name = chosen_target(settings, project, env) or _render(
        profile.get("target"), env, f"{path}: {project.profile}.target"
    )
    outputs = profile["outputs"]
    if not name or name not in outputs:
        known = ", ".join(sorted(outputs)) or "none"
        raise FsyncError(
            f"profile {project.profile!r} in {path} has no target {name!r}; its targets: {known}."
        )
    fields = _render(dict(outputs[name]), env, f"{path}: {project.profile}.outputs.{name}")
    kind = str(fields.get("type") or "")
    return WarehouseTarget(
        type=kind, fields=fields, source=f"profile {project.profile}, target {name} ({path})"
    )
