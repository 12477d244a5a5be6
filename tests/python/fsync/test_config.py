"""Configuration precedence and secret redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from fsync.errors import FsyncError
from fsync.redact import redact_dsn, redact_url
from fsync.settings import load_settings


def test_precedence_defaults_file_env_flags(tmp_path: Path) -> None:
    assert load_settings({"project_dir": str(tmp_path)}, env={}).batch_size == 1000
    (tmp_path / "pyproject.toml").write_text(
        "[tool.fsync]\nbatch_size = 10\nlookback = '1d'\nstore = 'redis'\n"
    )
    s = load_settings({"project_dir": str(tmp_path)}, env={})
    assert (s.batch_size, s.lookback, s.store) == (10, "1d", "redis")
    (tmp_path / "fsync.toml").write_text("batch_size = 20\n")  # fsync.toml wins over pyproject.toml
    assert load_settings({"project_dir": str(tmp_path)}, env={}).batch_size == 20
    s = load_settings({"project_dir": str(tmp_path)}, env={"FSYNC_BATCH_SIZE": "30", "FSYNC_LOOKBACK": "3h"})
    assert (s.batch_size, s.lookback) == (30, "3h")
    s = load_settings({"project_dir": str(tmp_path), "batch_size": 40}, env={"FSYNC_BATCH_SIZE": "30"})
    assert s.batch_size == 40


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("bogus = 1\n", "unknown setting 'bogus'"),
        ("batch_size = 'x'\n", "batch_size must be a whole number"),
        ("store = 'memcached'\n", "store must be 'sqlite' or 'redis'"),
    ],
)
def test_bad_config(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "fsync.toml").write_text(content)
    with pytest.raises(FsyncError, match=message):
        load_settings({"project_dir": str(tmp_path)}, env={})


def test_redaction() -> None:
    assert redact_url("redis://:s3cret@host:6380/0") == "redis://:***@host:6380/0"
    assert redact_url("rediss://user:s3cret@host/1") == "rediss://user:***@host/1"
    assert redact_url("redis://host:6379/0") == "redis://host:6379/0"
    assert "s3cret" not in redact_dsn("host=h password=s3cret dbname=x")
    assert "s3cret" not in redact_dsn("postgresql://u:s3cret@h/db")
