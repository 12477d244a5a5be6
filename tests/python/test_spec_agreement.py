"""dbt and fsync accept and reject exactly the same `meta.feature_view`, with the same message.

A project of one feature view per case (good and bad metas) is parsed by the real dbt; the package's macro
`fstore._feature_view_problems` (what `fstore.feature_view()` and the `validate_feature_views` hook raise)
is evaluated on every case by `dbt run-operation`, fsync's `FeatureViewSpec` parser on the same manifest. Both
must give the same problem lines for every case, and no problem for the good ones. Then the raising paths:
`dbt build` fails on the hook and `dbt compile` of a training set fails in `fstore.feature_view()`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fstore_testing.dbt import PACKAGE_DIR, dbt_executable

from fsync.manifest import load_manifest

GOOD = {
    "entity_keys": ["user_id"],
    "timestamp": "feature_ts",
    "ttl": "2d",
    "freshness_sla": "26h",
    "owner": "ml@example.com",
    "online": True,
}


def _with(**changes: Any) -> dict[str, Any]:
    meta = dict(GOOD)
    for key, value in changes.items():
        if value is _DROP:
            meta.pop(key, None)
        else:
            meta[key] = value
    return meta


_DROP = object()

# case name -> (meta.feature_view, contract enforced?, expected problem keys in order)
CASES: dict[str, tuple[Any, bool, list[str]]] = {
    "good_full": (GOOD, True, []),
    "good_created_and_tags": (_with(created_timestamp="created_ts", tags=["a", "b"]), True, []),
    "good_offline": (_with(online=False), True, []),
    "good_hours_minutes_seconds": (_with(ttl="36h", freshness_sla="90m"), True, []),
    "good_unenforced_contract_keys_not_checked": (_with(entity_keys=["customer_id"]), False, []),
    "typo_tll": (_with(ttl=_DROP, tll="2d"), True, ["meta.feature_view.tll", "meta.feature_view.ttl"]),
    "unknown_description": (_with(description="x"), True, ["meta.feature_view.description"]),
    "missing_owner": (_with(owner=_DROP), True, ["meta.feature_view.owner"]),
    "missing_everything": (
        {},
        True,
        [
            f"meta.feature_view.{k}"
            for k in ("entity_keys", "timestamp", "ttl", "freshness_sla", "owner", "online")
        ],
    ),
    "not_a_mapping": ("yes", True, ["meta.feature_view"]),
    "ttl_calendar": (_with(ttl="30 days"), True, ["meta.feature_view.ttl"]),
    "ttl_leading_zero": (_with(ttl="01d"), True, ["meta.feature_view.ttl"]),
    "ttl_zero": (_with(ttl="0d"), True, ["meta.feature_view.ttl"]),
    "ttl_number": (_with(ttl=2), True, ["meta.feature_view.ttl"]),
    "ttl_padded": (_with(ttl=" 2d"), True, ["meta.feature_view.ttl"]),
    "sla_weeks": (_with(freshness_sla="1w"), True, ["meta.feature_view.freshness_sla"]),
    "keys_a_string": (_with(entity_keys="user_id"), True, ["meta.feature_view.entity_keys"]),
    "keys_empty": (_with(entity_keys=[]), True, ["meta.feature_view.entity_keys"]),
    "keys_not_columns": (_with(entity_keys=["customer_id"]), True, ["meta.feature_view.entity_keys"]),
    "timestamp_not_column": (_with(timestamp="ts"), True, ["meta.feature_view.timestamp"]),
    "timestamp_a_number": (_with(timestamp=5), True, ["meta.feature_view.timestamp"]),
    "created_not_column": (_with(created_timestamp="nope"), True, ["meta.feature_view.created_timestamp"]),
    "owner_a_number": (_with(owner=42), True, ["meta.feature_view.owner"]),
    "online_a_string": (_with(online="yes"), True, ["meta.feature_view.online"]),
    "tags_a_string": (_with(tags="purchases"), True, ["meta.feature_view.tags"]),
    "two_problems_sorted": (
        _with(ttl="1 month", zz=1, owner=_DROP),
        True,
        ["meta.feature_view.zz", "meta.feature_view.owner", "meta.feature_view.ttl"],
    ),
}

SQL = "select 1 as user_id, cast('2024-01-01' as timestamp) as feature_ts, null as created_ts, 1 as f\n"
REPORT_MACRO = """
{% macro report_feature_view_problems() %}
  {% set out = {} %}
  {% for node in graph.nodes.values()
         if node.resource_type == 'model' and node.config.meta.feature_view is defined %}
    {% set problems = fstore._feature_view_problems(node) %}
    {% do out.update({node.name: fstore._feature_view_problem_lines(node, problems)}) %}
  {% endfor %}
  {{ print('FSTORE_PROBLEMS ' ~ tojson(out)) }}
{% endmacro %}
"""


def _project(root: Path) -> Path:
    project = root / "cases"
    (project / "models").mkdir(parents=True)
    (project / "macros").mkdir()
    (project / "dbt_project.yml").write_text(
        "name: spec_cases\nversion: '1.0.0'\nconfig-version: 2\nprofile: cases\n"
        "models:\n  spec_cases:\n    +materialized: view\n"
    )
    (project / "packages.yml").write_text(f"packages:\n  - local: {PACKAGE_DIR}\n")
    (project / "profiles.yml").write_text(
        "cases:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'cases.duckdb'}\n      settings: {{TimeZone: UTC}}\n"
    )
    (project / "macros" / "report.sql").write_text(REPORT_MACRO)
    models = []
    for name, (meta, enforced, _) in CASES.items():
        (project / "models" / f"{name}.sql").write_text(SQL)
        models.append(
            {
                "name": name,
                "config": {"contract": {"enforced": enforced}, "meta": {"feature_view": meta}},
                "columns": [
                    {"name": "user_id", "data_type": "integer", "description": "key"},
                    {"name": "feature_ts", "data_type": "timestamp", "description": "ts"},
                    {"name": "created_ts", "data_type": "timestamp", "description": "created"},
                    {"name": "f", "data_type": "integer", "description": "a feature"},
                ],
            }
        )
    (project / "models" / "schema.yml").write_text(yaml.safe_dump({"version": 2, "models": models}))
    return project


def _dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(dbt_executable()), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        env={"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PATH": "/usr/bin:/bin", "HOME": str(project)},
    )


@pytest.fixture(scope="module")
def cases_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = _project(tmp_path_factory.mktemp("spec"))
    for args in (["deps"], ["parse"]):
        proc = _dbt(project, *args)
        assert proc.returncode == 0, proc.stdout[-3000:]
    return project


def test_dbt_and_fsync_give_the_same_problems_for_every_meta(cases_project: Path) -> None:
    proc = _dbt(cases_project, "run-operation", "report_feature_view_problems")
    assert proc.returncode == 0, proc.stdout[-3000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("FSTORE_PROBLEMS "))
    from_dbt: dict[str, list[str]] = json.loads(line.removeprefix("FSTORE_PROBLEMS "))
    manifest = load_manifest(cases_project / "target")
    from_fsync = {v.name: [str(p) for p in v.problems] for v in manifest.views}

    assert set(from_dbt) == set(from_fsync) == set(CASES)
    for name, (_, _, keys) in CASES.items():
        assert from_dbt[name] == from_fsync[name], f"{name}: dbt and fsync disagree"
        assert [p.key for p in manifest.view(name).problems] == keys, name
        for text in from_fsync[name]:
            assert text.startswith(f"{name}: meta.feature_view") and "; fix: " in text, text
            assert text.endswith("(in models/schema.yml)"), text
    typo = from_fsync["typo_tll"][0]
    assert "did you mean `ttl`?" in typo


def test_dbt_build_and_compile_fail_on_a_bad_meta(cases_project: Path) -> None:
    build = _dbt(cases_project, "build", "--select", "good_full")
    assert build.returncode != 0
    output = " ".join(build.stdout.split())
    assert "fstore.validate_feature_views: invalid meta.feature_view:" in output
    assert "typo_tll: meta.feature_view.tll: unknown key; fix: did you mean `ttl`?" in output
    training = cases_project / "models" / "training_typo.sql"
    training.write_text(
        "{{ fstore.point_in_time_join(labels=ref('good_full'), entity_keys=['user_id'], label_timestamp="
        "'feature_ts', feature_views=[fstore.feature_view('typo_tll', columns=['f'], prefix='t__')]) }}\n"
    )
    try:
        compiled = _dbt(
            cases_project,
            "compile",
            "--select",
            "training_typo",
            "--vars",
            "{fstore_validate_feature_views: false}",
        )
    finally:
        training.unlink()
    assert compiled.returncode != 0
    output = " ".join(compiled.stdout.split())
    assert (
        "fstore.feature_view: invalid meta.feature_view: typo_tll: meta.feature_view.tll: unknown key"
        in output
    )
