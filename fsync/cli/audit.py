"""`fsync audit`: a legacy feature table against the canonical feature, and the rule that explains the
difference (the logic lives in fsync.registry.audit)."""

from __future__ import annotations

import os
from typing import Any
from zoneinfo import available_timezones

import click

from fsync.cli.options import audit_options, json_option, project_options, warehouse_options
from fsync.cli.output import echo_json
from fsync.cli.runtime import handle_errors, invocation
from fsync.errors import FsyncError
from fsync.project import chosen_target, profiles_dir
from fsync.registry.audit import Auditor, AuditRequest, CompileContext
from fsync.warehouse import open_reader


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _print(report: dict[str, Any]) -> None:
    keys = ", ".join(f"{legacy} as {key}" for key, legacy in report["keys"].items())
    click.echo(f"audit {report['legacy']} ({keys}, {report['timestamp']}, {report['column']})")
    click.echo(f"   vs {report['feature']}")
    verdict = "MATCHES" if report["passed"] else "DIVERGES"
    click.echo(
        f"rows {report['rows']}, matching {report['matching_rows']}: match rate {_pct(report['match_rate'])}"
        f" (threshold {_pct(report['threshold'])}) -> {verdict}"
    )
    dist = report["distribution"]
    stats = ("mean", "p10", "p25", "p50", "p75", "p90")
    click.echo("distribution  " + "".join(f"{s:>10}" for s in stats))
    for side in ("legacy", "canonical"):
        click.echo(f"  {side:<12}" + "".join(f"{_num(dist[side][s]):>10}" for s in stats))
    click.echo(f"  PSI {_num(dist['psi'])}")
    if report["worst"]:
        click.echo("worst-differing rows:")
        for w in report["worst"]:
            key = ", ".join(f"{k}={v}" for k, v in w["key"].items())
            click.echo(
                f"  {key} at {w['timestamp']}: legacy {_num(w['legacy'])}, canonical {_num(w['canonical'])}"
            )
    click.echo("each rule alone: match rate, share of the differing rows it explains")
    for r in report["rules"]:
        notes = ([] if r["recomputed_with"] == "canonical macros" else [r["recomputed_with"]]) + (
            ["no effect at these rows"] if r["no_effect"] else []
        )
        note = f" ({'; '.join(notes)})" if notes else ""
        click.echo(
            f"  {r['rule']:<18} {_pct(r['match_rate']):>7} {_pct(r['explained']):>7}  {r['description']}"
            + note
        )
    cause = report["likely_cause"]
    if cause is None:
        click.echo("likely cause: none, every row matches")
    else:
        click.echo(
            f"likely cause: {' + '.join(cause['rules']) or 'none found'} — explains"
            f" {_pct(cause['explained'])} of the differing rows ({cause['unexplained_rows']} unexplained);"
            f" match rate under it {_pct(cause['match_rate'])}"
        )


@click.command("audit")
@audit_options
@project_options
@warehouse_options
@json_option
@handle_errors
def audit_cmd(
    legacy: str,
    feature: str,
    keys: str | None,
    timestamp: str | None,
    column: str | None,
    time_zone: str,
    threshold: float,
    tolerance: float,
    top: int,
    as_json: bool,
    **flags: Any,
) -> int:
    """Compare a legacy feature table with the canonical feature at the legacy rows' (entity, timestamp)
    points: match rate, distribution shift (mean, quantiles, PSI), the worst rows, and the rule that explains
    the difference (docs/audit.md). Exit 0 when the match rate reaches --threshold, 1 when it does not."""
    if time_zone not in available_timezones():
        raise FsyncError(
            f"--time-zone {time_zone!r} is not an IANA time zone name; e.g. America/Los_Angeles."
        )
    run = invocation(flags)
    manifest, settings = run.manifest, run.settings
    request = AuditRequest(
        feature=feature,
        legacy=legacy,
        keys=tuple(k.strip() for k in keys.split(",")) if keys else (),
        timestamp=timestamp,
        column=column,
        time_zone=time_zone,
        threshold=threshold,
        tolerance=tolerance,
        top=top,
    )
    ctx = CompileContext(
        project_dir=run.project_dir,
        target=chosen_target(settings, run.project),
        profiles_dir=str(profiles_dir(settings, os.environ)),
        cache_dir=run.project.target_path / "fsync" / "compiled",
    )
    warehouse = run.warehouse
    report = Auditor(manifest, ctx, lambda: open_reader(warehouse), warehouse.kind, request).run()
    if as_json:
        echo_json(report)
    else:
        _print(report)
    return 0 if report["passed"] else 1


COMMANDS = (audit_cmd,)
