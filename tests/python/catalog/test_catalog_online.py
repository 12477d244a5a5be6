"""The catalog's online side and freshness: a row after the as-of never makes a view fresh; per view the last
push, the entities online, the newest feature_ts online, the freshness status and the skew status of an
`fsync skew --json` report; copy-paste usage snippets."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fstore_testing.catalog import run_catalog
from fstore_testing.demo import DemoBuild
from fstore_testing.stores import store_settings

VIEW = "user_session_features"
PAGE = f"views/{VIEW}.html"


def _text(html: str, element_id: str) -> str:
    m = re.search(rf'id="{element_id}"[^>]*>(.*?)</span>', html, re.S)
    assert m, element_id
    return re.sub(r"<[^>]+>", "", m.group(1)).strip()


def _badges(html: str) -> list[str]:
    return re.findall(r'class="badge (?:fresh|warn|stale)" data-status="(\w+)"', html)


def test_rows_after_the_as_of_do_not_count_as_fresh(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    # The demo's rows (daily, 00:00) run to 2024-12-01: as of 2024-06-15 22:00 the newest known row is 22h old
    # (warn) though the table holds rows months newer; a day after the last row, 27h (breach).
    cases = [("2024-06-15T12:00:00", "ok"), ("2024-06-15T22:00:00", "warn")]
    cases.append(("2024-12-02T03:00:00", "breach"))
    for as_of, status in cases:
        out = tmp_path / status
        code, output = run_catalog(
            duckdb_demo.target_path, duckdb_demo.duckdb_path, out, "--no-online", as_of=as_of
        )
        assert code == 0, output
        assert set(_badges((out / "index.html").read_text())) == {status}
        assert set(_badges((out / PAGE).read_text())) == {status}


def test_online_side_skew_and_usage(duckdb_demo: DemoBuild, tmp_path: Path) -> None:
    demo = duckdb_demo
    env = store_settings("sqlite", "", tmp_path)
    assert demo.fsync("push", "--as-of", "2024-11-30T12:00:00", env=env).exit_code == 0
    report = tmp_path / "skew.json"
    report.write_text(
        json.dumps(
            {
                "threshold": 0.0,
                "features": [
                    {"view": VIEW, "feature": "session_count_7d", "exact_match_rate": 1.0},
                    {"view": VIEW, "feature": "session_count_28d", "exact_match_rate": 0.75},
                ],
            }
        )
    )
    out = tmp_path / "site"
    code, output = run_catalog(
        demo.target_path,
        demo.duckdb_path,
        out,
        "--sqlite-path",
        env["FSYNC_SQLITE_PATH"],
        "--skew-report",
        str(report),
        as_of="2024-12-01T12:00:00",
    )
    assert code == 0, output
    html = (out / PAGE).read_text()
    assert _text(html, "online-last-push").startswith("as of 2024-11-30 12:00:00 (full), completed ")
    assert _text(html, "online-newest") == "2024-11-30 00:00:00"
    entities = int(_text(html, "online-entities").replace(",", ""))
    assert entities > 0
    # The warehouse holds 2024-12-01 (12h old: fine) but the store 2024-11-30 (36h): the online side breaches.
    assert 'id="online-freshness" data-status="breach"' in html and "run fsync push" in html
    assert 'id="online-skew" data-status="skew"' in html and "75.00%" in html and "session_count_28d" in html
    index = (out / "index.html").read_text()
    cell = f'<td class="online">{entities:,} <span class="badge stale" data-status="breach"'
    assert cell in index
    sdk = re.search(r'<pre id="usage-sdk">(.*?)</pre>', html, re.S).group(1)  # type: ignore[union-attr]
    sql = re.search(r'<pre id="usage-sql">(.*?)</pre>', html, re.S).group(1)  # type: ignore[union-attr]
    assert "fs.get_online_features(entity_rows=[{&quot;user_id&quot;: ...}]" in sdk
    assert "user_session_features:session_count_7d" in sdk and "get_historical_features" in sdk
    assert "fstore.feature_view(&#x27;user_session_features&#x27;, columns=[" in sql
    # A store file that does not exist is stated, never created.
    missing = tmp_path / "none.sqlite"
    code, output = run_catalog(
        demo.target_path, demo.duckdb_path, tmp_path / "s2", "--sqlite-path", str(missing)
    )
    assert code == 0 and "no online state" in output and not missing.exists()
    assert "Online state unavailable" in (tmp_path / "s2" / PAGE).read_text()
