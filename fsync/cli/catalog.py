"""`fsync catalog`: write the static HTML catalog (the logic lives in fsync.catalog)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fsync.catalog import build_catalog
from fsync.catalog.online import load_skew
from fsync.cli.options import as_of_option, json_option, project_options, store_options, warehouse_options
from fsync.cli.output import echo_json
from fsync.cli.runtime import handle_errors, invocation
from fsync.errors import FsyncError
from fsync.online.stores import OnlineStore, open_store
from fsync.settings import Settings
from fsync.timeutil import parse_as_of
from fsync.warehouse import Warehouse


@click.command("catalog")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the site into (index.html + views/).",
)
@click.option("--no-profile", is_flag=True, help="Do not read the warehouse (no live profile figures).")
@click.option("--no-online", is_flag=True, help="Do not read the online store (last push, entities online).")
@click.option(
    "--skew-report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A report of `fsync skew --json` to show the skew status of each view.",
)
@as_of_option("'Now' for freshness (ISO timestamp, UTC if naive). Default: the wall clock.")
@project_options
@warehouse_options
@store_options
@json_option
@handle_errors
def catalog_cmd(
    out_dir: Path,
    no_profile: bool,
    no_online: bool,
    skew_report: Path | None,
    as_of: str | None,
    as_json: bool,
    **flags: Any,
) -> int:
    """Write a static, self-contained HTML catalog of the feature views into OUT."""
    run = invocation(flags)
    now = parse_as_of(as_of) if as_of is not None else parse_as_of(None).replace(microsecond=0)
    warehouse: Warehouse | FsyncError | None = None
    if not no_profile:
        try:
            warehouse = run.warehouse
        except (
            FsyncError
        ) as exc:  # no profile, unknown target: stated on the pages, the catalog is still written
            warehouse = exc
    skew = load_skew(skew_report) if skew_report is not None else None
    result = build_catalog(
        run.manifest, out_dir, now, warehouse, None if no_online else _store_opener(run.settings), skew
    )
    profiles = result.profiles
    notes = []
    if profiles is not None and profiles.unavailable:
        notes.append(f"no live profile ({profiles.unavailable})")
    elif profiles is not None:
        notes += [f"could not profile {uid}: {why}" for uid, why in sorted(profiles.errors.items())]
    if result.online is not None and result.online.unavailable:
        notes.append(f"no online state ({result.online.unavailable})")
    if as_json:
        echo_json({"out": str(out_dir), "pages": [str(p) for p in result.pages], "notes": notes})
        return 0
    click.echo(f"fsync catalog: wrote {len(result.pages)} pages to {out_dir / 'index.html'}")
    for note in notes:
        click.echo(f"fsync catalog: {note}", err=True)
    return 0


def _store_opener(settings: Settings) -> Callable[[], OnlineStore]:
    """Opens the store of the settings; an embedded SQLite file that does not exist yet is reported, never
    created by the catalog."""

    def open_it() -> OnlineStore:
        if settings.store == "sqlite" and not settings.path(settings.sqlite_path).exists():
            raise FsyncError(
                f"no SQLite online store at {settings.path(settings.sqlite_path)} (nothing pushed yet?)"
            )
        return open_store(settings)

    return open_it


COMMANDS = (catalog_cmd,)
