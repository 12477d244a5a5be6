"""Placeholder CLI; the real commands land with issue 3."""

import click


@click.group()
@click.version_option()
def main() -> None:
    """fsync: publish dbt feature views to an online store."""
