"""fsync's own settings, with precedence: defaults < config file (fsync.toml or [tool.fsync] in
pyproject.toml) < FSYNC_* environment < command-line flags.

The warehouse is not configured here but found the way dbt finds it (fsync/project.py: the project's profile
and target); `warehouse`, `duckdb_path` and `postgres_dsn` only override it. The online store is fsync's own.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from fsync.errors import FsyncError
from fsync.timeutil import DURATION_UNITS, duration_seconds


@dataclass
class Settings:
    project_dir: str = "."
    target_path: str = ""  # empty: as dbt (DBT_TARGET_PATH, then target-path in dbt_project.yml, then target)
    profiles_dir: str = ""  # empty: as dbt (DBT_PROFILES_DIR, then ./profiles.yml, then ~/.dbt)
    target: str = ""  # dbt target; empty: DBT_TARGET, the target the manifest was built with, the default
    store: str = "sqlite"  # sqlite | redis
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = (
        False  # redis_url names any node of a Redis Cluster (fsync/online/stores/redis_cluster.py)
    )
    sqlite_path: str = ".fsync/online.sqlite"
    key_prefix: str = "fsync"
    warehouse: str = ""  # duckdb | postgres | spark; empty: the dbt target's type
    duckdb_path: str = ""  # empty: the dbt target's path
    postgres_dsn: str = ""  # empty: built from the dbt target
    spark_warehouse: str = ""  # empty: the dbt target's spark.sql.warehouse.dir (its tables' Parquet files)
    duckdb_memory_limit: str = ""
    batch_size: int = 1000
    lookback: str = "2d"
    retries: int = 3
    retry_backoff: float = 0.5
    log_max_entries: int = 1_000_000  # bound of the served-value log (the oldest entries are dropped past it)
    lease_ttl: float = 30.0  # seconds a push's lease on a view lives unless its heartbeat renews it
    lease_wait: float = 0.0  # seconds a push waits for another push of the same view (0: report it busy)
    allow_eviction: bool = False  # push into a Redis whose maxmemory-policy may evict feature keys
    full_refresh_every: str = ""  # e.g. 1d: an incremental push becomes full this long after the last full
    sqlite_timeout: float = 30.0  # seconds to wait for another writer of the SQLite store
    push_log: bool = False  # record when each pushed entity became servable (serving-exact training sets)

    def path(self, value: str) -> Path:
        """A configured path, relative to the project dir."""
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else Path(self.project_dir) / p


_NAMES = {f.name: f for f in fields(Settings)}
_INT = re.compile(r"[+-]?[0-9]+")
_MEMORY = re.compile(r"[0-9]+(\.[0-9]+)?\s*([KMGT]i?)?B", re.IGNORECASE)
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
# (least value, what it is) of every number setting
_RANGES: dict[str, tuple[float, str]] = {
    "batch_size": (1, "entities per batch"),
    "retries": (0, "retries"),
    "retry_backoff": (0, "seconds"),
    "lease_ttl": (1, "seconds"),
    "lease_wait": (0, "seconds"),
    "sqlite_timeout": (0, "seconds"),
}


def _coerce(name: str, value: Any, source: str) -> Any:
    """The value of setting `name`, strictly of its type: a TOML value must already have it (no 1.9 or
    true for an integer, no list for a path); a text (environment, flag) must spell it exactly."""
    kind = type(getattr(Settings, name))
    text = value if isinstance(value, str) else None
    if kind is bool:
        if isinstance(value, bool):
            return value
        if text is not None and text.strip().lower() in _TRUE + _FALSE:
            return text.strip().lower() in _TRUE
        raise FsyncError(f"{source}: {name} must be true or false, got {value!r}.")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            number: float = value
        elif text is not None and _INT.fullmatch(text.strip()):
            number = int(text)
        else:
            raise FsyncError(f"{source}: {name} must be a whole number, got {value!r}.")
    elif kind is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(text) if text is not None else math.nan
            except ValueError:
                number = math.nan
            if text is None or text.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity"):
                number = math.nan
        if not math.isfinite(number):
            raise FsyncError(f"{source}: {name} must be a finite number, got {value!r}.")
    else:
        if not isinstance(value, str):
            raise FsyncError(f"{source}: {name} must be a text, got {value!r}.")
        return value
    least, unit = _RANGES.get(name, (-math.inf, ""))
    if number < least:
        raise FsyncError(f"{source}: {name} must be at least {least:g} ({unit}), got {value!r}.")
    return number


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
        except (OSError, UnicodeDecodeError) as exc:
            raise FsyncError(f"config file {path} cannot be read ({exc}).") from None
        tool = doc.get("tool") if isinstance(doc.get("tool"), dict) else {}
        if path.name == "pyproject.toml" and config_file is None:
            values = tool.get("fsync", {})
            where = "[tool.fsync]"
        elif "fsync" in doc:
            values, where = doc["fsync"], "[fsync]"
        elif "fsync" in tool:
            values, where = tool["fsync"], "[tool.fsync]"
        else:
            values, where = doc, ""
        if not isinstance(values, dict):
            raise FsyncError(
                f"config file {path}: {where or 'fsync'} must be a table of settings, got {values!r};"
                " write e.g. `[fsync]` then `batch_size = 1000`."
            )
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
    if settings.warehouse not in ("", "duckdb", "postgres", "spark"):
        raise FsyncError(f"warehouse must be 'duckdb', 'postgres' or 'spark', got {settings.warehouse!r}.")
    for name in ("lookback", "full_refresh_every"):
        value = getattr(settings, name)
        if (value or name == "lookback") and duration_seconds(value) is None:
            raise FsyncError(f"setting {name} is {value!r}; write {DURATION_UNITS}, e.g. '2d'.")
    if settings.duckdb_memory_limit and not _MEMORY.fullmatch(settings.duckdb_memory_limit):
        raise FsyncError(
            f"setting duckdb_memory_limit is {settings.duckdb_memory_limit!r}; write an amount such as"
            " 4GB, 512MiB."
        )
    for name in ("sqlite_path", "key_prefix", "redis_url"):
        if not getattr(settings, name).strip():
            raise FsyncError(f"setting {name} is empty.")
    if any(c in settings.key_prefix for c in "*?[]\\ "):
        raise FsyncError(
            f"setting key_prefix {settings.key_prefix!r} holds a space or one of * ? [ ] \\; use letters,"
            " digits, '_', '-', ':' or '.'."
        )
    return settings
