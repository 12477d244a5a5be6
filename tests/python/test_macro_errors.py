"""Wrong macro arguments fail at compile time, naming the argument and the fix (on every engine)."""

from __future__ import annotations

import pytest
from fstore_testing.dbt import DbtRunner
from fstore_testing.engines import Engine

ROLLING = (
    "{{{{ fstore.rolling_agg(spine='s', events='e', entity_keys={keys}, "
    "aggregations={aggs}, windows={windows}) }}}}"
)
COUNT = "[{'name': 'n', 'agg': 'count_rows'}]"

CASES = {
    "unknown aggregation": (
        ROLLING.format(keys="['user_id']", aggs="[{'name': 'x', 'agg': 'median', 'column': 'amount'}]",
                       windows="['30d']"),
        ["aggregation 'x' has unknown agg 'median'", "use one of count_rows, count, sum, avg, min, max"],
    ),
    "window written as '30 days'": (
        ROLLING.format(keys="['user_id']", aggs=COUNT, windows="['30 days']"),
        ["argument `windows` is \"30 days\"", "e.g. '30d'"],
    ),
    "missing entity key": (
        ROLLING.format(keys="[]", aggs=COUNT, windows="['30d']"),
        ["argument `entity_keys` is missing", "entity_keys=['user_id']"],
    ),
    "aggregation without its column": (
        ROLLING.format(keys="['user_id']", aggs="[{'name': 's', 'agg': 'sum'}]", windows="['30d']"),
        ["aggregation 's' (sum) needs a 'column'"],
    ),
    "window not a multiple of the declared spine_step": (
        "{{ fstore.rolling_agg(spine='s', events='e', entity_keys=['user_id'], aggregations=" + COUNT
        + ", windows=['1d', '36h'], spine_step='1d') }}",
        ["window of output column 'n_36h' is not a multiple of `spine_step` '1d'", "or drop `spine_step`"],
    ),
    "spine_step in calendar units": (
        "{{ fstore.rolling_agg(spine='s', events='e', entity_keys=['user_id'], aggregations=" + COUNT
        + ", windows=['1d'], spine_step='1 day') }}",
        ["argument `spine_step` is \"1 day\""],
    ),
    "label relation without the timestamp column": (
        "{{ fstore.point_in_time_join(labels=ref('mt_fv_b'), entity_keys=['user_id'],"
        " label_timestamp='label_ts',"
        " feature_views=[{'relation': ref('mt_fv_a'), 'columns': ['score']}]) }}",
        ["has no column `label_ts`", "named by `entity_keys/label_timestamp`"],
    ),
    "feature column collision": (
        "{{ fstore.point_in_time_join(labels=ref('mt_labels'), entity_keys=['user_id'],"
        " feature_views=[{'relation': ref('mt_fv_a'), 'columns': ['score']},"
        " {'relation': ref('mt_fv_a'), 'columns': ['score']}]) }}",
        [
            "output column 'feature_ts' of feature_views[1] collides with feature_views[0]",
            "set a distinct 'prefix'",
        ],
    ),
    "ttl in calendar units": (
        "{{ fstore.point_in_time_join(labels=ref('mt_labels'), entity_keys=['user_id'],"
        " feature_views=[{'relation': ref('mt_fv_a'), 'columns': ['score'], 'ttl': '1 month'}]) }}",
        ["argument `feature_views[0].ttl` is \"1 month\""],
    ),
    "unknown time zone": (
        "select {{ fstore.to_utc('raw_ts', 'Pacific Time') }} from {{ ref('mt_raw_times') }}",
        ["argument `source_time_zone` is \"Pacific Time\"", "IANA time zone name"],
    ),
    "feature view without meta": (
        "{{ fstore.point_in_time_join(labels=ref('mt_labels'), entity_keys=['user_id'],"
        " feature_views=[fstore.feature_view('mt_spine', columns={'user_id': 'spine_user'})]) }}",
        ["model 'mt_spine' has no meta.feature_view block", "declare entity_keys, timestamp, ttl"],
    ),
}


@pytest.fixture(scope="module")
def seeded(engine: Engine) -> DbtRunner:
    engine.integration.dbt.ok("seed", "--select", "path:seeds/macro_tests")
    return engine.integration.dbt


@pytest.mark.parametrize("case", list(CASES))
def test_wrong_arguments_fail_at_compile_time_with_the_fix(seeded: DbtRunner, case: str) -> None:
    sql, expected_fragments = CASES[case]
    result = seeded.run("compile", "--inline", sql)
    assert result.returncode != 0, f"{case}: compiled although it should not have:\n{result.tail()}"
    output = " ".join(result.output.split())
    for fragment in expected_fragments:
        assert fragment in output, f"{case}: expected {fragment!r} in dbt's message:\n{result.tail()}"


def test_valid_arguments_compile(seeded: DbtRunner) -> None:
    """The same shapes, written correctly, compile: the failures above are about the arguments."""
    result = seeded.ok(
        "compile", "--inline",
        ROLLING.format(keys="['user_id']", aggs=COUNT, windows="['30d', '12h']"),
    )
    assert "n_30d" in result.output and "n_12h" in result.output


def test_tiled_rolling_agg_fails_on_a_spine_off_its_declared_grid(seeded: DbtRunner) -> None:
    """A spine_step the spine does not follow would give silently wrong windows: the query fails instead."""
    sql = ("{% set off_grid = '(select user_id, ' ~ fstore._shift_seconds('feature_ts', 1)"
           " ~ ' as feature_ts from ' ~ ref('mt_spine_rows') ~ ') as s' %}"
           "{{ fstore.rolling_agg(spine=off_grid, events=ref('mt_events'), entity_keys=['user_id'], "
           "event_timestamp='event_ts', aggregations=" + COUNT + ", windows=['1d'], spine_step='1d') }}")
    result = seeded.run("show", "--inline", sql)
    assert result.returncode != 0, f"a spine off its grid was accepted:\n{result.tail()}"
    assert "is not on the grid of spine_step" in " ".join(result.output.split()), result.tail()
