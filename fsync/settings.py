"""fsync's own settings, with precedence: defaults < config file (fsync.toml or [tool.fsync] in
pyproject.toml) < FSYNC_* environment < command-line flags.

The warehouse is not configured here but found the way dbt finds it (fsync/project.py: the project's profile
and target); `warehouse`, `duckdb_path` and `postgres_dsn` only override it. The online store is fsync's own.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from fsync.errors import FsyncError


@dataclass
class Settings:
    project_dir: str = "."
    target_path: str = ""  # empty: as dbt (DBT_TARGET_PATH, then target-path in dbt_project.yml, then target)
    profiles_dir: str = ""  # empty: as dbt (DBT_PROFILES_DIR, then ./profiles.yml, then ~/.dbt)
    target: str = ""  # dbt target; empty: DBT_TARGET, the target the manifest was built with, the default
    store: str = "sqlite"  # sqlite | redis
    redis_url: str = "redis://127.0.0.1:6379/0"
    sqlite_path: str = ".fsync/online.sqlite"
    key_prefix: str = "fsync"
    warehouse: str = ""  # duckdb | postgres; empty: the dbt target's type
    duckdb_path: str = ""  # empty: the dbt target's path
    postgres_dsn: str = ""  # empty: built from the dbt target
    duckdb_memory_limit: str = ""
    batch_size: int = 1000
    lookback: str = "2d"
    retries: int = 3
    retry_backoff: float = 0.5
    log_max_entries: int = 1_000_000  # bound of the served-value log (the oldest entries are dropped past it)

    def path(self, value: str) -> Path:
        """A configured path, relative to the project dir."""
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else Path(self.project_dir) / p


_NAMES = {f.name: f for f in fields(Settings)}


def _coerce(name: str, value: Any, source: str) -> Any:
    kind = type(getattr(Settings, name))
    try:
        if kind is int:
            return int(value)
        if kind is float:
            return float(value)
    except (TypeError, ValueError):
        raise FsyncError(f"{source}: {name} must be a number, got {value!r}.") from None
    return str(value)


def _file_values(project_dir: Path, config_file: Path | None) -> tuple[dict[str, Any], str]:
    if config_file is not None:
        candidates = [config_file]
    else:
        candidates = [project_dir / "fsync.toml", project_dir / "pyproject.toml"]
    for path in candidates:
        if not path.exists():
            if config_file is not None:
                raise FsyncError(f"config file {path} not found.")
            continue
        try:
            doc = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise FsyncError(f"config file {path} is not valid TOML ({exc}).") from None
        if path.name == "pyproject.toml" and config_file is None:
            values = doc.get("tool", {}).get("fsync", {})
        else:
            values = doc.get("fsync", doc.get("tool", {}).get("fsync", doc))
        return values, str(path)
    return {}, ""


def load_settings(
    flags: dict[str, Any], env: dict[str, str] | None = None, config_file: Path | None = None
) -> Settings:
    env = dict(os.environ) if env is None else env
    project_dir = flags.get("project_dir") or env.get("FSYNC_PROJECT_DIR") or "."
    values, source = _file_values(Path(project_dir), config_file)
    settings = Settings()
    for key, value in values.items():
        if key not in _NAMES:
            raise FsyncError(f"{source}: unknown setting {key!r}; known: {', '.join(sorted(_NAMES))}.")
        setattr(settings, key, _coerce(key, value, source))
    for name in _NAMES:
        if f"FSYNC_{name.upper()}" in env:
            setattr(settings, name, _coerce(name, env[f"FSYNC_{name.upper()}"], f"FSYNC_{name.upper()}"))
    for name, value in flags.items():
        if value is not None and name in _NAMES:
            setattr(settings, name, _coerce(name, value, f"--{name.replace('_', '-')}"))
    settings.project_dir = project_dir
    if settings.store not in ("sqlite", "redis"):
        raise FsyncError(f"store must be 'sqlite' or 'redis', got {settings.store!r}.")
    if settings.warehouse not in ("", "duckdb", "postgres"):
        raise FsyncError(f"warehouse must be 'duckdb' or 'postgres', got {settings.warehouse!r}.")
    if settings.batch_size <= 0:
        raise FsyncError(f"batch_size must be positive, got {settings.batch_size}.")
    return settings
