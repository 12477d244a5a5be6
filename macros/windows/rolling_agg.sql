{#-
  rolling_agg(spine, events, entity_keys, aggregations, windows, spine_timestamp='feature_ts',
              event_timestamp='event_ts', spine_columns=none, as_known_at=none, spine_step=none, spine_start=none)

  One output row per spine row: the spine's entity keys, its timestamp, any `spine_columns`, and one column
  `<name>_<window>` per aggregation x window, computed over the events of the entity with
  spine_ts - W <= event_ts < spine_ts (docs/semantics.md section 3).

  aggregations: list of {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount', 'windows': ['30d']}
                (`column` is not used by count_rows; `windows` overrides the macro-level `windows`).
  as_known_at:  none, or {'ingested_at': 'ingested_at', 'key': ['order_id', 'line_item_id']} to count only the
                versions known at the spine time (`events` then holds every version, not deduplicated).

  spine_step:   none, or the step of a regular grid the spine lies on (e.g. '1d': every spine timestamp a whole
                number of steps after 1970-01-01 00:00 UTC, as fstore.feature_spine(step='1d') from a midnight
                start makes it). Every window must then be a multiple of the step, and the windows are computed
                from tiles (_internal/_rolling_agg_tiled.sql); count_distinct and as_known_at keep the join below.
  spine_start:  none, or a SQL timestamp expression no later than any spine timestamp: events before
                spine_start - the largest window are not read (an incremental run's narrow spine).

  How (no spine_step): the events are bucketed on floor(epoch_us / W_max); each spine row probes its own bucket and the previous
  one, so the join is an equi-join on (entity, bucket) followed by the exact range predicate. The pairs examined
  are those within 2 x W_max of the spine time, never the entity's whole history, and never a cross join.
-#}
{% macro rolling_agg(spine, events, entity_keys, aggregations, windows=none, spine_timestamp='feature_ts',
                     event_timestamp='event_ts', spine_columns=none, as_known_at=none, spine_step=none,
                     spine_start=none) %}
  {% set a = fstore._rolling_agg_arguments(spine, events, entity_keys, aggregations, windows, spine_timestamp,
                                           event_timestamp, spine_columns, as_known_at, spine_step, spine_start) %}
  {{ return(adapter.dispatch('rolling_agg', 'fstore')(spine, events, a['keys'], a.spine_ts, a.event_ts, a.extra_cols,
                                                       a.outputs, a.value_columns, a.known,
                                                       a.step_seconds if a.tiled else none, a.spine_start)) }}
{% endmacro %}

{% macro default__rolling_agg(spine, events, keys, spine_ts, event_ts, extra_cols, outputs, value_columns, known,
                              tile_seconds=none, spine_start=none) -%}
  {%- if tile_seconds is not none -%}
    {{ return(fstore._rolling_agg_tiled(spine, events, keys, spine_ts, event_ts, extra_cols, outputs, value_columns,
                                        tile_seconds, spine_start)) }}
  {%- endif -%}
  {%- set max_seconds = outputs | map(attribute='seconds') | max -%}
  {%- set bucket_us = max_seconds * 1000000 -%}
  {%- set ts_type = fstore._timestamp_type() -%}
  with _fstore_spine as (
    select
      {% for k in keys %}{{ k }}, {% endfor %}
      {% for c in extra_cols %}{{ c }}, {% endfor %}
      cast({{ spine_ts }} as {{ ts_type }}) as _fstore_t
    from {{ spine }}
  ),
  {%- if known %}
  _fstore_versions as (
    {%- set version_cols = [] %}
    {%- for c in keys + known.key + value_columns + [event_ts, known.ingested_at] %}
      {%- if c not in version_cols %}{% do version_cols.append(c) %}{% endif %}
    {%- endfor %}
    select distinct {{ version_cols | join(', ') }}
    from {{ events }}
    where {{ known.ingested_at }} is not null
  ),
  {#- Validity of each version: until the next version of its key was ingested. Computed before any filter on
      event_ts, so a later version with a NULL event_ts still supersedes (and then counts nowhere). #}
  _fstore_timeline as (
    select
      *,
      lead({{ known.ingested_at }}) over (
        partition by {{ known.key | join(', ') }} order by {{ known.ingested_at }}
      ) as _fstore_known_until
    from _fstore_versions
  ),
  {%- endif %}
  _fstore_events as (
    select
      {% for k in keys %}{{ k }}, {% endfor %}
      cast({{ event_ts }} as {{ ts_type }}) as _fstore_ts,
      {% for c in value_columns %}{{ c }} as _fstore_v{{ loop.index0 }}, {% endfor %}
      {%- if known %}
      {{ known.ingested_at }} as _fstore_known_from,
      _fstore_known_until,
      {%- endif %}
      {{ fstore._floor_div(fstore._epoch_us(event_ts), bucket_us) }} as _fstore_bucket
    from {{ '_fstore_timeline' if known else events }}
    where {{ event_ts }} is not null
    {%- if spine_start is not none %}
      and {{ event_ts }} >= {{ fstore._shift_seconds('cast(' ~ spine_start ~ ' as ' ~ ts_type ~ ')', -max_seconds) }}
    {%- endif %}
  ),
  {#- The distinct (entity, time) points of the spine: aggregates are computed once per point and joined back on
      (entity, time), so duplicate spine rows share them and no row number is needed (Spark inlines CTEs and may
      evaluate one twice, so `row_number() over ()` is not a stable row id there). #}
  _fstore_points as (
    select distinct {% for k in keys %}{{ k }}, {% endfor %}_fstore_t
    from _fstore_spine
    where _fstore_t is not null
  ),
  _fstore_probe as (
    select {% for k in keys %}{{ k }}, {% endfor %}_fstore_t,
      {{ fstore._floor_div(fstore._epoch_us('_fstore_t'), bucket_us) }} as _fstore_bucket
    from _fstore_points
    union all
    select {% for k in keys %}{{ k }}, {% endfor %}_fstore_t,
      {{ fstore._floor_div(fstore._epoch_us('_fstore_t'), bucket_us) }} - 1 as _fstore_bucket
    from _fstore_points
  ),
  _fstore_agg as (
    select
      {% for k in keys %}p.{{ k }}, {% endfor %}p._fstore_t
      {%- for o in outputs %}
      {%- set in_window = "e._fstore_ts >= " ~ fstore._shift_seconds('p._fstore_t', -o.seconds) -%}
      {%- set v = 'e._fstore_v' ~ value_columns.index(o.value) if o.value else none %}
      {%- if o.agg == 'count_rows' %},
      count(case when {{ in_window }} then 1 end) as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'count' %},
      count(case when {{ in_window }} then {{ v }} end) as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'count_distinct' %},
      count(distinct case when {{ in_window }} then {{ v }} end) as _fstore_o{{ o.slot }}
      {%- elif o.agg in ('sum', 'min', 'max') %},
      {{ o.agg }}(case when {{ in_window }} then {{ v }} end) as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'avg' %},
      sum(case when {{ in_window }} then {{ v }} end) as _fstore_o{{ o.slot }},
      count(case when {{ in_window }} then {{ v }} end) as _fstore_n{{ o.slot }}
      {%- endif %}
      {%- endfor %}
    from _fstore_probe as p
    inner join _fstore_events as e
      on {% for k in keys %}e.{{ k }} = p.{{ k }} and {% endfor %}e._fstore_bucket = p._fstore_bucket
      and e._fstore_ts >= {{ fstore._shift_seconds('p._fstore_t', -max_seconds) }}
      and e._fstore_ts < p._fstore_t
      {%- if known %}
      and e._fstore_known_from <= p._fstore_t
      and (e._fstore_known_until is null or e._fstore_known_until > p._fstore_t)
      {%- endif %}
    group by {% for k in keys %}p.{{ k }}, {% endfor %}p._fstore_t
  )
  select
    {% for k in keys %}s.{{ k }}, {% endfor %}
    {% for c in extra_cols %}s.{{ c }}, {% endfor %}
    s._fstore_t as {{ spine_ts }}
    {%- for o in outputs %},
    {% if o.agg in ('count_rows', 'count', 'count_distinct', 'sum') -%}
    coalesce(a._fstore_o{{ o.slot }}, 0)
    {%- elif o.agg == 'avg' -%}
    case when a._fstore_n{{ o.slot }} > 0
      then cast(a._fstore_o{{ o.slot }} as {{ fstore.type_double() }}) / a._fstore_n{{ o.slot }}
    end
    {%- else -%}
    a._fstore_o{{ o.slot }}
    {%- endif %} as {{ o.column_name }}
    {%- endfor %}
  from _fstore_spine as s
  left join _fstore_agg as a
    on {% for k in keys %}a.{{ k }} = s.{{ k }} and {% endfor %}a._fstore_t = s._fstore_t
{%- endmacro %}
