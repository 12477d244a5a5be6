"""The fsync command line (click). The only package that knows about click; nothing imports it.

One module per command group; each command composes the option groups it uses (fsync/cli/options.py) and maps
expected failures to exit codes in one place (fsync/cli/runtime.py).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from fsync.cli import audit, catalog, monitoring, push, registry, serving
from fsync.cli.runtime import fail


class _Fsync(click.Group):
    """With --json, a usage error (unknown option, bad value) is a JSON error object too."""

    def main(self, args: Any = None, **kwargs: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        if "--json" not in argv or kwargs.get("standalone_mode") is False:
            return super().main(args=argv, **kwargs)
        try:
            return super().main(args=argv, **{**kwargs, "standalone_mode": False})
        except click.ClickException as exc:
            fail(exc.format_message(), exc.exit_code, "usage_error", True)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            fail("aborted.", 1, "aborted", True)


@click.group(cls=_Fsync)
@click.version_option(package_name="fstore-fsync")
def main() -> None:
    """fsync: publish dbt feature views to an online store, read them back, and keep the registry honest."""


for _module in (push, registry, catalog, serving, audit, monitoring):
    for _command in _module.COMMANDS:
        main.add_command(_command)
