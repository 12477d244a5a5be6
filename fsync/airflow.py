"""fsync in Airflow 3 (optional extra: `pip install "fstore-fsync[airflow]"`; docs/airflow.md).

`FsyncOperator` runs one fsync command with `--json` in a subprocess (the worker's own Python, `python -m
fsync`, unless `fsync_command` says otherwise) and maps its exit code onto the task:

- 0: success; the command's JSON is the task's return value (XCom `return_value`);
- 1 (a check failed: a view refused, a freshness breach, skew over the threshold): the task fails at once,
  without retries, with the JSON in the log;
- 2 (a user, configuration or data error): the task fails at once, without retries;
- 3 (the warehouse or the store is unavailable, a view busy with another push): the task fails and is
  retried by its `retries` / `retry_delay`.

The example DAG is examples/airflow/dags/fstore_demo.py: `dbt build` (BashOperator) -> `fsync check` ->
`fsync push --json` -> `fsync freshness --json`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from fsync.errors import EXIT_CODES, ExitCode

__all__ = ["FsyncCheckFailed", "FsyncOperator"]

# The commands that take --as-of (the "now" of the push or the check).
_AS_OF_COMMANDS = ("push", "freshness", "get")


class FsyncCheckFailed(AirflowFailException):
    """fsync exited 1: a check failed (not retried: the same inputs fail the same way)."""


class FsyncOperator(BaseOperator):
    """Run `fsync <command> <args> --json` and map its exit code (0 ok, 1 check failed, 2 error: fail
    without retry, 3 infrastructure: retry)."""

    template_fields: Sequence[str] = ("arguments", "as_of", "project_dir", "env")

    def __init__(
        self,
        *,
        command: str,
        arguments: Sequence[str] = (),
        as_of: str | None = None,
        project_dir: str | None = None,
        env: Mapping[str, str] | None = None,
        fsync_command: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.command = command
        self.arguments = list(arguments)
        self.as_of = as_of
        self.project_dir = project_dir
        self.env = dict(env or {})
        self.fsync_command = list(fsync_command or [sys.executable, "-m", "fsync"])

    def cmdline(self) -> list[str]:
        cmd = [*self.fsync_command, self.command, *self.arguments]
        if self.as_of and self.command in _AS_OF_COMMANDS and "--as-of" not in self.arguments:
            cmd += ["--as-of", self.as_of]
        if self.project_dir and "--project-dir" not in self.arguments:
            cmd += ["--project-dir", self.project_dir]
        return [*cmd, "--json"]

    def execute(self, context: Context) -> Any:
        cmd = self.cmdline()
        self.log.info("running %s", " ".join(cmd))
        proc = subprocess.run(
            cmd, cwd=self.project_dir or None, env={**os.environ, **self.env}, capture_output=True, text=True
        )
        if proc.stderr.strip():
            self.log.info("fsync stderr:\n%s", proc.stderr.rstrip())
        self.log.info("fsync %s exited %s:\n%s", self.command, proc.returncode, proc.stdout.rstrip())
        try:
            output = json.loads(proc.stdout) if proc.stdout.strip() else None
        except ValueError:
            output = None
        code = proc.returncode
        if code == ExitCode.OK:
            return output
        summary = _error_line(output) or f"fsync {self.command} exited {code}"
        meaning = EXIT_CODES.get(ExitCode(code), "unknown exit code") if code in set(ExitCode) else "crashed"
        message = f"fsync {self.command}: exit {code} ({meaning}): {summary}"
        if code == ExitCode.CHECK_FAILED:
            raise FsyncCheckFailed(message)
        if code == ExitCode.INFRA_UNAVAILABLE:
            raise AirflowException(message)  # retried by the task's retries / retry_delay
        raise AirflowFailException(message)


def _error_line(output: Any) -> str | None:
    """The one line that says what failed: the JSON error object's message, or the refused views."""
    if not isinstance(output, dict):
        return None
    error = output.get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    views = output.get("views")
    if isinstance(views, list):
        bad = [
            f"{v.get('view')}: {v.get('status')} - {v.get('message')}"
            for v in views
            if isinstance(v, dict) and v.get("status") not in ("pushed", "dry-run", "ok", None)
        ]
        if bad:
            return "; ".join(bad)
    return None
