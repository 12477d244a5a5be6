{#-
  feature_spine(entities, entity_keys, start_ts, end_ts, step='1d', timestamp_column='feature_ts')

  Every distinct entity of `entities` x a regular UTC grid start_ts, start_ts + step, ... <= end_ts
  (both ends inclusive). start_ts / end_ts are SQL expressions (a literal such as "'2024-01-01'" or a subquery).
-#}
{% macro feature_spine(entities, entity_keys, start_ts, end_ts, step='1d', timestamp_column='feature_ts') %}
  {% if entities is none %}
    {{ fstore._fail('feature_spine', "argument `entities` is missing; pass the relation holding the entity keys, e.g. ref('stg_users').") }}
  {% endif %}
  {% set keys = fstore._as_column_list(entity_keys, 'entity_keys', 'feature_spine') %}
  {% set ts_col = fstore._as_column_list(timestamp_column, 'timestamp_column', 'feature_spine')[0] %}
  {% for arg_name, value in [('start_ts', start_ts), ('end_ts', end_ts)] %}
    {% if value is none or (value | string | trim) == '' %}
      {{ fstore._fail('feature_spine', "argument `" ~ arg_name ~ "` is missing; pass a SQL timestamp expression such as \"'2024-01-01'\".") }}
    {% endif %}
  {% endfor %}
  {% set step_d = fstore._parse_duration(step, 'step', 'feature_spine') %}
  {% do fstore._require_columns(entities, keys, 'entity_keys', 'feature_spine') %}
  {{ return(adapter.dispatch('feature_spine', 'fstore')(entities, keys, start_ts, end_ts, step_d.seconds, ts_col)) }}
{% endmacro %}

{% macro default__feature_spine(entities, keys, start_ts, end_ts, step_seconds, ts_col) -%}
  with _fstore_entities as (
    select distinct {{ keys | join(', ') }} from {{ entities }}
  ),
  _fstore_grid as (
    select cast(g as {{ fstore._timestamp_type() }}) as {{ ts_col }}
    from generate_series(
      cast({{ start_ts }} as {{ fstore._timestamp_type() }}),
      cast({{ end_ts }} as {{ fstore._timestamp_type() }}),
      interval '{{ step_seconds }} seconds'
    ) as g
  )
  select {% for k in keys %}_fstore_entities.{{ k }}, {% endfor %}_fstore_grid.{{ ts_col }}
  from _fstore_entities
  cross join _fstore_grid
{%- endmacro %}

{% macro duckdb__feature_spine(entities, keys, start_ts, end_ts, step_seconds, ts_col) -%}
  with _fstore_entities as (
    select distinct {{ keys | join(', ') }} from {{ entities }}
  ),
  _fstore_grid as (
    select cast(unnest(generate_series(
      cast({{ start_ts }} as {{ fstore._timestamp_type() }}),
      cast({{ end_ts }} as {{ fstore._timestamp_type() }}),
      to_seconds({{ step_seconds }})
    )) as {{ fstore._timestamp_type() }}) as {{ ts_col }}
  )
  select {% for k in keys %}_fstore_entities.{{ k }}, {% endfor %}_fstore_grid.{{ ts_col }}
  from _fstore_entities
  cross join _fstore_grid
{%- endmacro %}

{#- Spark has no generate_series table function: explode a sequence() array (which refuses start > end, so the
    upper bound is clamped and the empty case filtered). -#}
{% macro spark__feature_spine(entities, keys, start_ts, end_ts, step_seconds, ts_col) -%}
  {%- set ts_type = fstore._timestamp_type() -%}
  with _fstore_entities as (
    select distinct {{ keys | join(', ') }} from {{ entities }}
  ),
  _fstore_bounds as (
    select cast({{ start_ts }} as {{ ts_type }}) as _fstore_start, cast({{ end_ts }} as {{ ts_type }}) as _fstore_end
  ),
  _fstore_grid as (
    select explode(sequence(_fstore_start, greatest(_fstore_start, _fstore_end),
                            make_dt_interval(0, 0, 0, {{ step_seconds }}))) as {{ ts_col }}, _fstore_end
    from _fstore_bounds
  )
  select {% for k in keys %}_fstore_entities.{{ k }}, {% endfor %}_fstore_grid.{{ ts_col }}
  from _fstore_entities
  cross join _fstore_grid
  where _fstore_grid.{{ ts_col }} <= _fstore_grid._fstore_end
{%- endmacro %}
