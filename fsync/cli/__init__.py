"""The fsync command line (click). The only package that knows about click; nothing imports it.

One module per command group; each command composes the option groups it uses (fsync/cli/options.py) and maps
expected failures to exit codes in one place (fsync/cli/runtime.py).
"""

from __future__ import annotations

import click

from fsync.cli import catalog, push, registry, serving


@click.group()
@click.version_option(package_name="fstore-fsync")
def main() -> None:
    """fsync: publish dbt feature views to an online store, read them back, and keep the registry honest."""


for _module in (push, registry, catalog, serving):
    for _command in _module.COMMANDS:
        main.add_command(_command)
