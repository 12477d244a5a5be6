"""fsync in Dagster (optional extra: `pip install "fstore-fsync[dagster]"`; docs/dagster.md).

From the dbt manifest, `fsync_assets` defines one asset per online feature-view version, downstream of the
dagster-dbt asset of its model; materializing it is `fsync push` of that version, with the entities written
and deleted, the watermark, the duration and the store as metadata. Per view it also defines

- a Dagster freshness check from `meta.feature_view.freshness_sla`: the push asset must have been updated
  within the SLA (Dagster's last-update check, against the wall clock);
- `fsync_freshness`: `fsync freshness` of the view at the resource's as-of (newest feature_ts in the
  warehouse and online against the SLA), blocking by default: a breach stops the assets downstream of the
  push in the same run;
- `fsync_skew`: `fsync skew` of the view over the exported served-value log (not blocking by default).

A push refused by fsync (a failed dbt test, a model that did not build; exit 1) or invalid (exit 2) fails the
asset without retries; an unavailable warehouse or store (exit 3) fails it with the asset's retry policy.
Push health comes from every dbt invocation under the target path (dagster-dbt writes each into its own
subdirectory of `target/`), so a partial dbt run between pushes does not block views it did not touch.

    from dagster import Definitions
    from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
    from fsync.dagster import FsyncResource, fsync_assets

    demo = DbtProject(project_dir="examples/demo")

    @dbt_assets(manifest=demo.manifest_path)
    def demo_dbt(context, dbt: DbtCliResource):
        yield from dbt.cli(["build"], context=context).stream()

    defs = Definitions(
        assets=[demo_dbt, *fsync_assets(demo.manifest_path)],
        resources={
            "dbt": DbtCliResource(project_dir=demo),
            "fsync": FsyncResource(project_dir="examples/demo", target_path="target"),
        },
    )
"""

# No `from __future__ import annotations`: Dagster reads the context annotations of the decorated functions.
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    ConfigurableResource,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
    asset_check,
    build_last_update_freshness_checks,
)
from dagster_dbt import DagsterDbtTranslator

from fsync.errors import ExitCode, FsyncError
from fsync.jsonvalue import dumps
from fsync.manifest import FeatureViewSpec, load_manifest, parse_manifest
from fsync.manifest.artifacts import load_json
from fsync.monitoring.freshness import BREACH, INVALID, WARN, check_freshness
from fsync.monitoring.skew import read_served_log, skew_report
from fsync.online.publish import Published, publish, push_options
from fsync.project import load_project
from fsync.serving import FeatureStore
from fsync.serving.export import DEFAULT_TABLE
from fsync.settings import Settings, load_settings
from fsync.timeutil import parse_as_of

__all__ = ["FsyncResource", "fsync_assets", "view_asset_key"]


class FsyncResource(ConfigurableResource):  # type: ignore[misc]
    """fsync's settings for the assets and checks (each None: from fsync.toml / FSYNC_* / the defaults, as
    for the CLI). The Redis URL (it may hold a password) is never config: FSYNC_REDIS_URL or fsync.toml."""

    project_dir: str = "."
    target_path: str | None = None  # the parent of dagster-dbt's per-invocation dirs: usually `target`
    profiles_dir: str | None = None
    target: str | None = None
    store: str | None = None  # sqlite | redis
    sqlite_path: str | None = None
    key_prefix: str | None = None
    as_of: str | None = None  # the push's and the checks' "now" (ISO, UTC if naive); None: the wall clock
    skew_log_dir: str | None = None  # `fsync skew --log-dir` (None: the warehouse table)
    skew_table: str | None = None  # `fsync skew --table` (None: fsync_served_values)
    skew_since: str | None = None  # `fsync skew --since`
    skew_threshold: float = 0.0  # `fsync skew --threshold` (0: any mismatch fails)

    def overrides(self) -> dict[str, str]:
        """The settings this resource sets (the others: fsync.toml / FSYNC_* / the defaults)."""
        names = ("target_path", "profiles_dir", "target", "store", "sqlite_path", "key_prefix")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def settings(self) -> Settings:
        return load_settings({"project_dir": self.project_dir, **self.overrides()})

    def push(self, views: Sequence[str], full_refresh: bool = False) -> Published:
        """`fsync push --select V...` at the resource's as-of."""
        settings = self.settings()
        project = load_project(settings)
        manifest = load_manifest(project.target_path)
        chosen = manifest.select_online(list(views))
        as_of = parse_as_of(self.as_of) if self.as_of else None
        opts = push_options(settings, as_of, full_refresh=full_refresh)
        return publish(settings, project, manifest, chosen, opts)


def view_asset_key(view: FeatureViewSpec, key_prefix: Sequence[str] = ("fsync",)) -> AssetKey:
    """The push asset of a view version: `fsync/<relation name>`, e.g. fsync/user_purchase_features_v2."""
    return AssetKey([*key_prefix, view.alias])


def _manifest_doc(manifest: Mapping[str, Any] | str | Path) -> tuple[dict[str, Any], Path]:
    if isinstance(manifest, Mapping):
        return dict(manifest), Path(".")
    path = Path(manifest)
    return load_json(path), path.parent


def _push_metadata(published: Published, view: FeatureViewSpec) -> dict[str, Any]:
    result = next(r for r in published.summary.views if r.view == view.label)
    watermark = published.watermarks.get(view.label) or {}
    return {
        "view": view.label,
        "entities_written": result.rows,
        "entities_deleted": result.deleted,
        "mode": result.mode,
        "reason": result.reason or "",
        "watermark": watermark.get("as_of", ""),
        "generation": int(watermark.get("generation") or 0),
        "duration_s": float(result.seconds),
        "store": published.summary.store,
        "as_of": published.summary.as_of,
        "warnings": [*published.summary.warnings, *result.warnings],
    }


def _push_asset(
    view: FeatureViewSpec,
    key: AssetKey,
    upstream: AssetKey,
    resource_key: str,
    group_name: str,
    retry_policy: RetryPolicy | None,
) -> AssetsDefinition:
    @asset(
        key=key,
        deps=[upstream],
        group_name=group_name,
        description=f"fsync push of {view.label} ({view.relation}) into the online store. {view.description}",
        metadata={
            "view": view.label,
            "relation": view.relation,
            "entity_keys": ", ".join(view.entity_keys),
            "ttl": view.ttl,
            "freshness_sla": view.freshness_sla,
            "owner": view.owner,
        },
        owners=[view.owner] if "@" in view.owner else None,
        kinds={"fsync"},
        required_resource_keys={resource_key},
        retry_policy=retry_policy,
    )
    def push_view(context: AssetExecutionContext) -> MaterializeResult:
        fsync: FsyncResource = getattr(context.resources, resource_key)
        try:
            published = fsync.push([view.label])
        except FsyncError as exc:
            _fail(str(exc), int(exc.exit_code))
        result = next(r for r in published.summary.views if r.view == view.label)
        if result.status != "pushed":
            _fail(f"{view.label}: {result.status} - {result.message}", result.exit_code)
        metadata = _push_metadata(published, view)
        context.log.info(f"fsync push {view.label}: {json.dumps(metadata, default=str)}")
        return MaterializeResult(metadata={k: _metadata_value(v) for k, v in metadata.items()})

    return push_view


def _fail(message: str, exit_code: int) -> NoReturn:
    """A refused or invalid push (exit 1/2) fails without retries; an outage (exit 3) may be retried."""
    raise Failure(
        description=" ".join(message.split()),
        metadata={"exit_code": int(exit_code)},
        allow_retries=int(exit_code) == int(ExitCode.INFRA_UNAVAILABLE),
    )


def _freshness_check(
    view: FeatureViewSpec, key: AssetKey, resource_key: str, blocking: bool
) -> Callable[..., Any]:
    @asset_check(
        asset=key,
        name="fsync_freshness",
        blocking=blocking,
        description=f"`fsync freshness` of {view.label}: newest feature_ts in the warehouse and online"
        f" within freshness_sla {view.freshness_sla} at the resource's as-of.",
        required_resource_keys={resource_key},
    )
    def freshness(context: AssetCheckExecutionContext) -> AssetCheckResult:
        fsync: FsyncResource = getattr(context.resources, resource_key)
        report = check_freshness(fsync.project_dir, [view.label], fsync.as_of, **fsync.overrides())
        state = report.view(view.label)
        metadata = {k: _metadata_value(v) for k, v in state.to_dict().items()}
        if state.status in (BREACH, INVALID):
            return AssetCheckResult(passed=False, metadata=metadata, description=state.message)
        if state.status == WARN:
            return AssetCheckResult(
                passed=False, severity=AssetCheckSeverity.WARN, metadata=metadata, description=state.message
            )
        return AssetCheckResult(passed=True, metadata=metadata, description=state.message)

    return freshness


def _skew_check(
    view: FeatureViewSpec, key: AssetKey, resource_key: str, blocking: bool
) -> Callable[..., Any]:
    @asset_check(
        asset=key,
        name="fsync_skew",
        blocking=blocking,
        description=f"`fsync skew` of {view.label}: served values replayed against the warehouse.",
        required_resource_keys={resource_key},
    )
    def skew(context: AssetCheckExecutionContext) -> AssetCheckResult:
        fsync: FsyncResource = getattr(context.resources, resource_key)
        since = parse_as_of(fsync.skew_since) if fsync.skew_since else None
        log_dir = Path(fsync.skew_log_dir) if fsync.skew_log_dir else None
        with FeatureStore(fsync.project_dir, **fsync.overrides()) as fs:
            try:
                warehouse = None if log_dir is not None else fs.warehouse
                source, records = read_served_log(
                    warehouse, fsync.skew_table or DEFAULT_TABLE, log_dir, since, None
                )
            except FsyncError as exc:  # no exported log yet: nothing to compare, said so
                return AssetCheckResult(
                    passed=False, severity=AssetCheckSeverity.WARN, description=" ".join(str(exc).split())
                )
            mine = [r for r in records if (r.view, r.version) == (view.name, view.version)]
            report = skew_report(fs, mine, source, since, None, fsync.skew_threshold)
        failing = [f"{f.feature} ({f.mismatch_rate:.2%} mismatched)" for f in report.failing]
        metadata = {
            "source": source,
            "rows": report.rows,
            "threshold": report.threshold,
            "features": MetadataValue.json(json.loads(dumps([f.to_dict() for f in report.features]))),
        }
        description = f"skew in {', '.join(failing)}" if failing else f"{report.rows} served reads match"
        return AssetCheckResult(passed=not failing, metadata=metadata, description=description)

    return skew


def _metadata_value(value: Any) -> Any:
    if value is None:
        return MetadataValue.null()
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict | list):
        return MetadataValue.json(json.loads(json.dumps(value, default=str)))
    return str(value)


def fsync_assets(
    manifest: Mapping[str, Any] | str | Path,
    *,
    dagster_dbt_translator: DagsterDbtTranslator | None = None,
    select: Sequence[str] = (),
    key_prefix: Sequence[str] = ("fsync",),
    group_name: str = "fsync",
    resource_key: str = "fsync",
    freshness_blocking: bool = True,
    skew: bool = True,
    skew_blocking: bool = False,
    retry_policy: RetryPolicy | None = None,
) -> list[AssetsDefinition]:
    """The push asset of every online feature-view version of `manifest` (the dbt manifest dict, or the
    path of manifest.json, as given to @dbt_assets), each downstream of its model's dagster-dbt asset (keys
    from `dagster_dbt_translator`, the default translator unless given), with its checks: the SLA freshness
    check, `fsync_freshness` and (with `skew`) `fsync_skew`. `select` narrows the views like `fsync push
    --select`. A view with a spec problem is still defined: its push fails with `fsync check`'s line."""
    doc, target_path = _manifest_doc(manifest)
    parsed = parse_manifest(doc, target_path)
    translator = dagster_dbt_translator or DagsterDbtTranslator()
    retry = retry_policy if retry_policy is not None else RetryPolicy(max_retries=2, delay=10)
    out: list[AssetsDefinition] = []
    for view in parsed.select_online(list(select)):
        key = view_asset_key(view, key_prefix)
        upstream = translator.get_asset_spec(doc, view.unique_id, None).key
        push_asset = _push_asset(view, key, upstream, resource_key, group_name, retry)
        out.append(push_asset)
        if view.freshness_sla_seconds:
            out.extend(
                build_last_update_freshness_checks(
                    assets=[push_asset],
                    lower_bound_delta=timedelta(seconds=view.freshness_sla_seconds),
                    severity=AssetCheckSeverity.ERROR,
                )
            )
        out.append(_freshness_check(view, key, resource_key, freshness_blocking))
        if skew:
            out.append(_skew_check(view, key, resource_key, skew_blocking))
    return out
