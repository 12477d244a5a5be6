"""The catalog's content without a browser: one page per published view, escaped text, self-contained pages,
lineage per version, profile figures equal to the warehouse's, and a warehouse that cannot be read."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
from fstore_testing.catalog import Site, run_catalog
from fstore_testing.demo import DemoBuild

from fsync.catalog.content import page_name
from fsync.manifest import load_manifest

FEATURE_VIEWS = ["user_purchase_features@1", "user_purchase_features@2", "user_session_features"]


def _svg_texts(html: str) -> set[str]:
    svg = re.search(r'<svg class="lineage".*?</svg>', html, re.S)
    assert svg, "no lineage svg"
    return set(re.findall(r"<text[^>]*>([^<]*)</text>", svg.group(0)))


def _h1(html: str) -> str:
    m = re.search(r"<h1.*?</h1>", html, re.S)
    assert m
    return m.group(0)


def test_every_published_view_has_a_page_linked_from_the_index(site: Site) -> None:
    manifest = load_manifest(site.target_path)
    assert sorted(v.label for v in manifest.views) == FEATURE_VIEWS
    index = (site.out_dir / "index.html").read_text()
    for view in manifest.views:
        page = site.out_dir / page_name(view)
        assert page.is_file(), page
        assert f'href="{page_name(view)}"' in index
        html = page.read_text()
        assert f'<h1 id="view-name">{view.label}' in html
        for col in view.columns:  # every contract column with its type
            assert f'<tr id="col-{col.name}"><td><code>{col.name}</code>' in html
            assert f"<code>{col.data_type}</code>" in html
    assert "fsync catalog: wrote 4 pages" in site.output


def test_pages_are_self_contained(site: Site) -> None:
    for page in [site.out_dir / "index.html", *sorted((site.out_dir / "views").iterdir())]:
        html = page.read_text()
        assert not re.search(r'(src|href)="(https?:)?//', html), page
        assert "<link" not in html and "@import" not in html, page
        assert not re.search(r"url\((?!#)", html), page  # only in-document references (the SVG marker)
        assert "<style>" in html and "<script>" in html


def test_lineage_and_versions_per_version(site: Site) -> None:
    v1 = (site.out_dir / "views/user_purchase_features.v1.html").read_text()
    v2 = (site.out_dir / "views/user_purchase_features.v2.html").read_text()
    # v1 feeds the fraud model only, v2 the churn model only (models/exposures.yml).
    assert {"training_fraud", "fraud_model", "raw_purchases", "stg_purchases"} <= _svg_texts(v1)
    assert not {"training_churn", "churn_model"} & _svg_texts(v1)
    assert {"training_churn", "churn_model", "stg_purchase_versions"} <= _svg_texts(v2)
    assert not {"training_fraud", "fraud_model"} & _svg_texts(v2)
    # The versions table links the other version; v1 carries its deprecation date.
    assert 'href="../views/user_purchase_features.v2.html"' in v1
    assert "deprecated 2027-06-30" in _h1(v1) and "deprecated" not in _h1(v2) and "latest" in _h1(v2)
    assert "<td>2027-06-30</td>" in v1 and "<td>2027-06-30</td>" in v2  # both versions tables list it
    assert "models/features/user_purchase_features_v2.sql" in v2
    assert "fstore.rolling_agg" in v2  # the dbt source SQL (escaped quotes included)


def test_profile_figures_equal_the_warehouse(site: Site) -> None:
    manifest = load_manifest(site.target_path)
    with duckdb.connect(str(site.duckdb_path), read_only=True) as con:
        for view in manifest.views:
            html = (site.out_dir / page_name(view)).read_text()
            cols = [c.name for c in view.columns]
            counts = ", ".join(f'count("{c}")' for c in cols)
            sql = f'select count(*), max(feature_ts), {counts} from main."{view.alias}"'
            row = con.execute(sql).fetchone()
            assert row is not None
            total, latest = row[0], row[1]
            assert total > 0
            assert f'<span id="profile-rows">{total:,}</span>' in html
            assert isinstance(latest, datetime)
            assert f'<span id="profile-latest">{latest.isoformat(sep=" ")}</span>' in html
            for name, count in zip(cols, row[2:], strict=True):
                pct = 100.0 * (total - count) / total
                cell = re.search(rf'<tr id="col-{name}">.*?<td class="num null-pct">([^<]*)</td>', html)
                assert cell and cell.group(1) == f"{pct:.1f}%", (view.label, name)
    nulls = re.search(
        r'<tr id="col-amount_avg_14d">.*?null-pct">([0-9.]+)%',
        (site.out_dir / "views/user_purchase_features.v1.html").read_text(),
    )
    assert nulls and 0 < float(nulls.group(1)) < 100  # the demo has users without paid line items


def _hostile_target(build: DemoBuild, tmp_path: Path) -> Path:
    target = tmp_path / "target"
    target.mkdir()
    shutil.copy(build.target_path / "run_results.json", target)
    manifest = json.loads((build.target_path / "manifest.json").read_text())
    node = manifest["nodes"]["model.fstore_demo.user_session_features"]
    node["description"] = "<script>alert('desc')</script> & more"
    node["config"]["meta"]["feature_view"]["owner"] = '"><img src=x onerror=alert(1)>'
    node["config"]["meta"]["feature_view"]["tags"] = ["<b>bold</b>"]
    node["columns"]["session_count_7d"]["description"] = "</td><script>alert('col')</script>"
    node["raw_code"] = "select '</pre><script>alert(\"sql\")</script>' as x"
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def test_text_is_escaped(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    target = _hostile_target(duckdb_demo, tmp_path)
    out = tmp_path / "site"
    code, output = run_catalog(target, duckdb_demo.duckdb_path, out, "--no-profile")
    assert code == 0, output
    for page in (out / "index.html", out / "views/user_session_features.html"):
        html = page.read_text()
        assert "<script>alert" not in html and "<img" not in html and "<b>bold" not in html, page
        assert "&lt;script&gt;alert(&#x27;desc&#x27;)&lt;/script&gt; &amp; more" in html
        assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
        assert "&lt;b&gt;bold&lt;/b&gt;" in html
    view = (out / "views/user_session_features.html").read_text()
    assert "&lt;/td&gt;&lt;script&gt;alert(&#x27;col&#x27;)" in view
    assert "&lt;/pre&gt;&lt;script&gt;alert(&quot;sql&quot;)" in view
    assert "Not profiled (--no-profile)" in view


def test_missing_duckdb_file_is_reported_and_the_catalog_still_written(
    duckdb_demo: DemoBuild, tmp_path: Path
) -> None:
    missing = tmp_path / "nope.duckdb"
    code, output = run_catalog(duckdb_demo.target_path, missing, tmp_path / "site")
    assert code == 0, output
    assert "no live profile" in output
    for page in (tmp_path / "site" / "index.html", tmp_path / "site" / "views/user_session_features.html"):
        html = page.read_text()
        assert "Live profile unavailable" in html and "does not exist" in html
    assert 'id="profile-rows"' not in (tmp_path / "site" / "views/user_session_features.html").read_text()


def test_locked_duckdb_file_is_reported(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    locked = tmp_path / "locked.duckdb"
    shutil.copy(duckdb_demo.duckdb_path, locked)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(locked)!r});"
         " print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"ready"
        code, output = run_catalog(duckdb_demo.target_path, locked, tmp_path / "site")
    finally:
        holder.kill()
        holder.wait()
    assert code == 0, output
    html = (tmp_path / "site" / "views/user_purchase_features.v2.html").read_text()
    assert "Live profile unavailable" in html and "is locked by another process" in html


def test_unreachable_postgres_is_reported(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    code, output = run_catalog(
        duckdb_demo.target_path, duckdb_demo.duckdb_path, tmp_path / "site", "--warehouse", "postgres",
        env={"FSYNC_POSTGRES_DSN": "host=127.0.0.1 port=1 user=postgres password=secret dbname=test"},
    )
    assert code == 0, output
    html = (tmp_path / "site" / "index.html").read_text()
    assert "Live profile unavailable from PostgreSQL" in html and "PostgreSQL is unavailable" in html
    assert "secret" not in html and "secret" not in output


def test_missing_manifest_is_an_error(tmp_path: Path) -> None:
    code, output = run_catalog(tmp_path / "no-target", tmp_path / "x.duckdb", tmp_path / "site")
    assert code == 2
    assert "manifest.json not found" in output and "Traceback" not in output
