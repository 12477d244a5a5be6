"""The exit codes of every fsync command and the one exception type per code. Defined here once: the CLI maps
an exception to its code (fsync/cli/runtime.py), and docs/cli.md is generated from EXIT_CODES.

Anything that is not an FsyncError is a bug and ends in a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    USER_ERROR = 2
    INFRA_UNAVAILABLE = 3


EXIT_CODES: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.CHECK_FAILED: "a check failed (a view's dbt build or tests failed, fsync check found errors)",
    ExitCode.USER_ERROR: "user or configuration error (bad selection, metadata, data, settings or arguments)",
    ExitCode.INFRA_UNAVAILABLE: (
        "infrastructure unavailable (warehouse or online store unreachable, locked, out of memory, evicting;"
        " a view busy with another push)"
    ),
}


class FsyncError(Exception):
    """A user or configuration error: bad selection, bad meta, bad data in a view, bad settings."""

    exit_code = ExitCode.USER_ERROR
    kind = "user_error"


class CheckFailed(FsyncError):
    """A check failed, e.g. a view's latest dbt build or tests failed."""

    exit_code = ExitCode.CHECK_FAILED
    kind = "check_failed"


class InfraUnavailable(FsyncError):
    """The warehouse or the online store cannot be reached (or is locked): retrying later may work."""

    exit_code = ExitCode.INFRA_UNAVAILABLE
    kind = "infra_unavailable"
