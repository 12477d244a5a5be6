"""Writes the catalog: index.html (searchable views and features) and one page per feature view version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

from fsync.catalog.assets import CSS, JS
from fsync.catalog.content import Catalog, ViewInfo, load_catalog
from fsync.catalog.online import OnlineSides, collect_online
from fsync.catalog.profile import Profile, Profiles, collect_profiles
from fsync.catalog.svg import lineage_svg
from fsync.errors import FsyncError
from fsync.manifest import Manifest
from fsync.online.freshness import BREACH, WARN, age_seconds, freshness_status
from fsync.online.stores import OnlineStore
from fsync.warehouse import Warehouse

DASH = "\u2014"


def e(value: object) -> str:
    return escape("" if value is None else str(value))


@dataclass(frozen=True)
class BuildResult:
    out_dir: Path
    pages: tuple[Path, ...]
    profiles: Profiles | None
    online: OnlineSides | None = None


def _page(title: str, body: str, root: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f'<header class="top"><a href="{root}index.html">Feature catalog</a>'
        f'<span class="sub">{e(title)}</span></header><main>{body}</main>'
        f"<script>{JS}</script></body></html>\n"
    )


def _fmt_ts(ts: datetime | None) -> str:
    return ts.isoformat(sep=" ") if ts is not None else "\u2014"


def _badge(status: str, title: str) -> str:
    label = {BREACH: "stale", WARN: "warn"}.get(status, "fresh")
    return f'<span class="badge {label}" data-status="{e(status)}" title="{e(title)}">{label}</span>'


def _freshness(info: ViewInfo, prof: Profile | None, as_of: datetime) -> str:
    """A badge: is the newest timestamp at or before `as_of` within the freshness SLA (warn from 80 %)? A row
    after the as-of was not known then, so it does not count (fsync.online.freshness)."""
    sla = info.view.freshness_sla_seconds
    if prof is None or not sla or prof.row_count == 0:
        return ""
    age = age_seconds(prof.latest_at_as_of, as_of)
    status = freshness_status(age, sla)
    when = "no row at or before the as-of" if age is None else f"age at {as_of}: {timedelta(seconds=age)}"
    return _badge(status, when)


def _online_badge(online: OnlineSides | None, info: ViewInfo) -> str:
    fresh = online.by_view.get(info.view.unique_id) if online else None
    if fresh is None or fresh.online_status is None:
        return DASH
    return f"{e(fresh.entities_online)} {_badge(fresh.online_status, fresh.message)}"


def _online_html(online: OnlineSides | None, info: ViewInfo) -> str:
    """The online side of a view: last push, entities online, newest feature_ts online, freshness, skew."""
    v = info.view
    if not v.online:
        return '<p class="muted">Offline only (meta.feature_view.online = false).</p>'
    if online is None:
        return '<p class="muted">The online store was not read (--no-online).</p>'
    if online.unavailable:
        return (
            f'<div class="notice online-unavailable">Online state unavailable from {e(online.source)}:'
            f" {e(online.unavailable)}</div>"
        )
    fresh = online.by_view.get(v.unique_id)
    if fresh is None:
        why = online.errors.get(v.unique_id, "not read")
        return f'<div class="notice online-unavailable">Could not read the online side: {e(why)}</div>'
    pushed = (
        f"as of {_fmt_ts(fresh.last_push_as_of)} ({e(fresh.last_push_mode)}), completed"
        f" {_fmt_ts(fresh.last_push_completed_at)}"
        if fresh.last_push_as_of
        else "never"
    )
    skew = online.skew.get(v.label)
    skew_text = (
        f'<span id="online-skew" data-status="{e(skew["status"])}">{e(skew["status"])}'
        f" (lowest exact-match rate {float(skew['exact_match_rate']):.2%}"  # type: ignore[arg-type]
        f"{', ' + e(skew['worst_feature']) if skew['worst_feature'] else ''})</span>"
        if skew
        else '<span class="muted">no skew report (fsync skew --json &gt; report.json; --skew-report)</span>'
    )
    return (
        '<div class="facts online">'
        + _fact("Last push", f'<span id="online-last-push">{pushed}</span>')
        + _fact("Entities online", f'<span id="online-entities">{fresh.entities_online:,}</span>')
        + _fact(
            f"Newest {v.timestamp} online",
            f'<span id="online-newest">{e(_fmt_ts(fresh.newest_online_ts))}</span>',
        )
        + _fact(
            "Freshness",
            f'<span id="online-freshness" data-status="{e(fresh.status)}">{e(fresh.status)}</span>'
            f' <span class="muted">{e(fresh.message)}</span>',
        )
        + _fact("Skew", skew_text)
        + _fact("Store", e(online.source))
        + "</div>"
    )


def _usage_html(info: ViewInfo) -> str:
    """Copy-paste usage: the SDK online and historical calls, and the dbt training-set SQL."""
    v = info.view
    names = [c.name for c in info.view.features][:3] or ["<feature>"]
    features = ", ".join(f'"{v.label}:{n}"' for n in names)
    key_row = ", ".join(f'"{k}": ...' for k in v.entity_keys)
    version = f", version={v.version}" if v.version is not None else ""
    sdk = (
        "from fsync import FeatureStore\n\n"
        'fs = FeatureStore(".")  # the dbt project\n'
        f"online = fs.get_online_features(entity_rows=[{{{key_row}}}], features=[{features}])\n"
        f"training = fs.get_historical_features(labels_df, features=[{features}])  # labels: keys + label_ts"
    )
    sql = (
        "{{ fstore.point_in_time_join(\n"
        "    labels=ref('my_labels'),\n"
        f"    entity_keys={list(v.entity_keys)},\n"
        "    label_timestamp='label_ts',\n"
        f"    feature_views=[fstore.feature_view('{v.name}'{version}, columns={names})],\n"
        ") }}"
    )
    return (
        f'<h3>Python (SDK)</h3><pre id="usage-sdk">{e(sdk)}</pre>'
        f'<h3>SQL (a dbt training-set model)</h3><pre id="usage-sql">{e(sql)}</pre>'
    )


def _tags(tags: tuple[str, ...]) -> str:
    return "".join(f'<span class="tag">{e(t)}</span>' for t in tags)


def _version_badges(info: ViewInfo) -> str:
    out = []
    if info.view.version is not None and info.latest:
        out.append('<span class="badge latest">latest</span>')
    if info.deprecation_date:
        out.append(f'<span class="badge deprecated">deprecated {e(info.deprecation_date[:10])}</span>')
    if not info.view.online:
        out.append('<span class="badge offline">offline only</span>')
    return " ".join(out)


def _search_text(*parts: object) -> str:
    return e(" ".join(str(p) for p in parts if p).lower())


def render_index(
    cat: Catalog, profiles: Profiles | None, as_of: datetime, online: OnlineSides | None = None
) -> str:
    rows = []
    for info in cat.views:
        prof = profiles.by_view.get(info.view.unique_id) if profiles else None
        search = _search_text(
            info.id,
            info.view.name,
            info.description,
            info.owner,
            " ".join(info.tags),
            " ".join(info.view.entity_keys),
            " ".join(c.name for c in info.features),
        )
        rows.append(
            f'<tr class="view-row" data-view-id="{e(info.id)}" data-search="{search}">'
            f'<td><a href="{e(info.page)}">{e(info.id)}</a> {_version_badges(info)}'
            f'<div class="muted">{e(info.description)}</div></td>'
            f"<td>{e(info.owner)}</td><td><code>{e(', '.join(info.view.entity_keys))}</code></td>"
            f"<td>{_tags(info.tags)}</td><td>{e(info.ttl)}</td><td>{e(info.freshness_sla)}</td>"
            f'<td class="num">{e(f"{prof.row_count:,}") if prof else "—"}</td>'
            f"<td>{e(_fmt_ts(prof.latest_ts) if prof else '—')} {_freshness(info, prof, as_of)}</td>"
            f'<td class="online">{_online_badge(online, info)}</td></tr>'
        )
    # One row per (view name, feature): the versions that carry it link to their pages.
    features: dict[tuple[str, str], list[ViewInfo]] = {}
    for info in cat.views:
        for col in info.features:
            features.setdefault((info.view.name, col.name), []).append(info)
    frows = []
    for (view_name, feature), infos in sorted(features.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        newest = infos[-1]
        col = next(c for c in newest.features if c.name == feature)
        links = " ".join(f'<a href="{e(i.page)}#col-{e(feature)}">{e(i.id)}</a>' for i in infos)
        search = _search_text(
            feature,
            view_name,
            col.description,
            newest.owner,
            " ".join(newest.tags),
            " ".join(newest.view.entity_keys),
        )
        frows.append(
            f'<tr class="feature-row" data-feature="{e(feature)}" data-search="{search}">'
            f"<td><code>{e(feature)}</code></td><td>{links}</td><td><code>{e(col.data_type)}</code></td>"
            f"<td>{e(col.description)}</td></tr>"
        )
    notice = ""
    if profiles is None:
        notice = '<p class="muted">Profiles were not collected (--no-profile).</p>'
    elif profiles.unavailable:
        notice = (
            f'<div class="notice profile-unavailable">Live profile unavailable from {e(profiles.source)}:'
            f" {e(profiles.unavailable)}</div>"
        )
    body = (
        f"<h1>{e(cat.project)} feature views</h1>"
        f'<p class="muted">{len(cat.views)} feature view versions, {len(features)} features \u00b7 '
        f"manifest generated {e(cat.generated_at)} by dbt {e(cat.dbt_version)} on {e(cat.adapter_type)}"
        f"{' · profiled from ' + e(profiles.source) if profiles and not profiles.unavailable else ''}"
        f" \u00b7 as of {e(_fmt_ts(as_of))}</p>{notice}"
        '<input id="search" class="search" type="search" autofocus autocomplete="off" '
        'placeholder="Search by name, description, owner, tag, entity\u2026" aria-label="search">'
        f'<h2>Feature views <span class="muted" data-count-for="views">{len(cat.views)}</span></h2>'
        '<table id="views"><thead><tr><th>View</th><th>Owner</th><th>Entity</th><th>Tags</th><th>TTL</th>'
        "<th>SLA</th><th>Rows</th><th>Latest</th><th>Online</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<h2>Features <span class="muted" data-count-for="features">{len(frows)}</span></h2>'
        '<table id="features"><thead><tr><th>Feature</th><th>Views</th><th>Type</th><th>Description</th>'
        f"</tr></thead><tbody>{''.join(frows)}</tbody></table>"
        '<p id="no-results" class="muted">Nothing matches the search.</p>'
    )
    return _page(f"{cat.project} feature catalog", body, "")


def _fact(key: str, value: str, cls: str = "") -> str:
    return f'<div class="fact {cls}"><div class="k">{e(key)}</div><div class="v">{value}</div></div>'


def render_view(
    cat: Catalog,
    info: ViewInfo,
    profiles: Profiles | None,
    as_of: datetime,
    online: OnlineSides | None = None,
) -> str:
    v = info.view
    uid = v.unique_id
    prof = profiles.by_view.get(uid) if profiles else None
    facts = [
        _fact("Owner", e(info.owner or "\u2014"), "owner"),
        _fact("Entity keys", f"<code>{e(', '.join(v.entity_keys))}</code>", "entity"),
        _fact("Timestamp", f"<code>{e(v.timestamp)}</code>"),
        _fact("TTL", e(info.ttl or "\u2014"), "ttl"),
        _fact("Freshness SLA", e(info.freshness_sla or "\u2014"), "sla"),
        _fact("Online", "yes" if v.online else "no (offline only)"),
        _fact("Relation", f"<code>{e(v.schema)}.{e(v.alias)}</code>"),
        _fact("Tags", _tags(info.tags) or "\u2014"),
    ]
    if v.created_timestamp:
        facts.insert(3, _fact("Created timestamp", f"<code>{e(v.created_timestamp)}</code>"))
    for problem in v.problems:
        facts.append(_fact("Metadata problem", e(str(problem))))
    health = cat.manifest.health_of(v)

    if profiles is None:
        prof_html = '<p class="muted">Not profiled (--no-profile).</p>'
    elif profiles.unavailable:
        prof_html = (
            f'<div class="notice profile-unavailable">Live profile unavailable from {e(profiles.source)}:'
            f" {e(profiles.unavailable)}</div>"
        )
    elif prof is None:
        why = profiles.errors.get(uid, "not profiled")
        prof_html = f'<div class="notice profile-unavailable">Could not profile this view: {e(why)}</div>'
    else:
        prof_html = (
            '<div class="facts profile">'
            + _fact("Rows", f'<span id="profile-rows">{prof.row_count:,}</span>', "rows")
            + _fact(
                f"Latest {v.timestamp}",
                f'<span id="profile-latest">{e(_fmt_ts(prof.latest_ts))}</span>'
                f" {_freshness(info, prof, as_of)}",
            )
            + _fact("Profiled from", e(profiles.source))
            + _fact("As of", e(_fmt_ts(as_of)))
            + "</div>"
        )

    col_rows = []
    for c in info.columns:
        null = f"{prof.null_pct[c.name]:.1f}%" if prof and c.name in prof.null_pct else "\u2014"
        col_rows.append(
            f'<tr id="col-{e(c.name)}"><td><code>{e(c.name)}</code>'
            f"{'' if c.role == 'feature' else f' <span class=role>{e(c.role)}</span>'}</td>"
            f"<td><code>{e(c.data_type)}</code></td><td>{e(c.description)}</td>"
            f'<td class="num null-pct">{null}</td></tr>'
        )
    ver_rows = []
    for ref in info.versions:
        label = ref.id if ref.id != info.id else f"<strong>{e(ref.id)}</strong> (this page)"
        link = f'<a href="../{e(ref.page)}">{e(ref.id)}</a>' if ref.id != info.id else label
        ver_rows.append(
            f"<tr><td>{link}</td><td>{'latest' if ref.latest else ''}</td>"
            f"<td>{e(ref.deprecation_date[:10]) if ref.deprecation_date else DASH}</td></tr>"
        )
    pages = {i.id: i.page for i in cat.views}
    svg = lineage_svg(info.lineage, lambda vid: f"../{pages[vid]}" if vid in pages else None)
    lin = info.lineage
    consumers = ", ".join(lin.labels("training") + lin.labels("downstream") + lin.labels("exposure"))
    sql = ""
    if info.compiled_sql:
        sql += f"<details><summary>Compiled SQL</summary><pre>{e(info.compiled_sql)}</pre></details>"
    if info.raw_sql:
        sql += f"<details open><summary>Source SQL (dbt)</summary><pre>{e(info.raw_sql)}</pre></details>"

    body = (
        f'<p><a href="../index.html">\u2190 all feature views</a></p>'
        f'<h1 id="view-name">{e(info.id)} {_version_badges(info)}</h1>'
        f'<p class="desc">{e(info.description) or "<span class=muted>No description.</span>"}</p>'
        + (f'<div class="notice">Not publishable now: {e(health)}</div>' if health else "")
        + f'<div class="facts">{"".join(facts)}</div>'
        f"<h2>Profile</h2>{prof_html}"
        f"<h2>Online</h2>{_online_html(online, info)}"
        f"<h2>Use it</h2>{_usage_html(info)}"
        f'<h2>Lineage</h2><p class="muted">Consumers: {e(consumers) or "none"}</p>'
        f'<div class="lineage-wrap">{svg}</div>'
        f'<h2>Columns</h2><table id="columns"><thead><tr><th>Column</th><th>Type</th><th>Description</th>'
        f"<th>NULL %</th></tr></thead><tbody>{''.join(col_rows)}</tbody></table>"
        '<h2>Versions</h2><table id="versions"><thead><tr><th>Version</th><th>Status</th>'
        f"<th>Deprecation date</th></tr></thead><tbody>{''.join(ver_rows)}</tbody></table>"
        f"<h2>Definition</h2><p>SQL file: <code>{e(info.sql_path)}</code></p>{sql}"
        f"<footer>dbt unique_id <code>{e(uid)}</code></footer>"
    )
    return _page(info.id, body, "../")


def build_catalog(
    manifest: Manifest,
    out_dir: Path,
    as_of: datetime,
    warehouse: Warehouse | FsyncError | None,
    open_store: Callable[[], OnlineStore] | None = None,
    skew: dict[str, dict[str, object]] | None = None,
) -> BuildResult:
    """Profile the views from `warehouse` (None: not at all; an FsyncError: why it is unavailable), read
    their online side from the store `open_store` opens (None: not at all) with the skew summary of an
    `fsync skew` report, and write the site into `out_dir`."""
    cat = load_catalog(manifest)
    views = [i.view for i in cat.views]
    profiles = collect_profiles(warehouse, views, as_of) if warehouse is not None else None
    online = collect_online(open_store, warehouse, views, as_of) if open_store is not None else None
    if online is not None:
        online.skew = skew or {}
    (out_dir / "views").mkdir(parents=True, exist_ok=True)
    written = [out_dir / "index.html"]
    written[0].write_text(render_index(cat, profiles, as_of, online), encoding="utf-8")
    for info in cat.views:
        path = out_dir / info.page
        path.write_text(render_view(cat, info, profiles, as_of, online), encoding="utf-8")
        written.append(path)
    return BuildResult(out_dir=out_dir, pages=tuple(written), profiles=profiles, online=online)
