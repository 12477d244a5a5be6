"""Run the fsync CLI in-process with an explicit environment."""

from __future__ import annotations

from click.testing import CliRunner, Result

from fsync.cli import main


def fsync(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
