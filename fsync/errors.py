"""The three kinds of expected failure, each with its exit code. Anything else is a bug (traceback)."""


class FsyncError(Exception):
    """A user or configuration error: bad selection, bad meta, bad data in a view. Exit code 2."""

    exit_code = 2


class CheckFailed(FsyncError):
    """A check failed, e.g. a view's latest dbt build or tests failed. Exit code 1."""

    exit_code = 1


class InfraUnavailable(FsyncError):
    """The warehouse or the online store cannot be reached (or is locked). Exit code 3."""

    exit_code = 3
