{#-
  incremental_spine_start(start_ts, lookback, step='1d', timestamp_column='feature_ts')

  The first spine timestamp an incremental feature-view model computes: on a full build (first run,
  --full-refresh, or a table materialization) `start_ts` itself; on an incremental run the latest
  `timestamp_column` already in the model's table minus `lookback`, never before `start_ts`. Every point from
  there on is recomputed and replaces the stored rows (delete+insert or merge on (entity keys, timestamp)), so a
  late or corrected event that arrives no later than `lookback` after the last computed point is absorbed: the
  table equals a full rebuild. The lookback must be a whole number of grid steps, so the start stays on the grid
  of fstore.feature_spine(start_ts, ..., step). Pass the same expression to rolling_agg's `spine_start`, so the
  run reads only the events its windows need (the spine start minus the largest window) - never fewer.

  Backfill of a date range on an incremental run: `--vars '{fstore_backfill_start: "2024-05-01"}'` makes the
  start that timestamp instead (on the grid, not before start_ts); the spine end is the model's own. Every point
  from there on is recomputed from the raw events with today's definition.
-#}
{% macro incremental_spine_start(start_ts, lookback, step='1d', timestamp_column='feature_ts') %}
  {% set m = 'incremental_spine_start' %}
  {% if start_ts is none or (start_ts | string | trim) == '' %}
    {{ fstore._fail(m, "argument `start_ts` is missing; pass the full build's first spine timestamp as a SQL expression, e.g. \"'2024-01-01'\".") }}
  {% endif %}
  {% set back = fstore._parse_duration(lookback, 'lookback', m) %}
  {% set step_d = fstore._parse_duration(step, 'step', m) %}
  {% if back.seconds % step_d.seconds != 0 %}
    {{ fstore._fail(m, "argument `lookback` '" ~ back.label ~ "' is not a multiple of `step` '" ~ step_d.label
       ~ "'; use a whole number of spine steps (e.g. '3d' for a daily spine) so the recomputed spine stays on the grid.") }}
  {% endif %}
  {% set ts_col = fstore._as_column_list(timestamp_column, 'timestamp_column', m)[0] %}
  {% if not is_incremental() %}
    {{ return(start_ts) }}
  {% endif %}
  {% set ts_type = fstore._timestamp_type() %}
  {% set start = 'cast(' ~ start_ts ~ ' as ' ~ ts_type ~ ')' %}
  {% set backfill = var('fstore_backfill_start', none) %}
  {% if backfill is not none %}
    {% if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9:.]+)?', backfill | string) %}
      {{ fstore._fail(m, "var `fstore_backfill_start` is " ~ (backfill | tojson) ~ "; pass a timestamp such as \"2024-05-01\" (on the spine's grid).") }}
    {% endif %}
    {% set requested = "cast('" ~ backfill ~ "' as " ~ ts_type ~ ")" %}
    {{ return("(case when " ~ requested ~ " < " ~ start ~ " then " ~ start ~ " else " ~ requested ~ " end)") }}
  {% endif %}
  {{ return("(select case when max(" ~ ts_col ~ ") is null or " ~ fstore._shift_seconds('max(' ~ ts_col ~ ')', -back.seconds)
            ~ " < " ~ start ~ " then " ~ start ~ " else " ~ fstore._shift_seconds('max(' ~ ts_col ~ ')', -back.seconds)
            ~ " end from " ~ this ~ ")") }}
{% endmacro %}
