{#- The tiled formulation of fstore.rolling_agg, for a spine on a declared regular grid (spine_step = g, every
    spine timestamp a multiple of g since the epoch) and windows that are multiples of g (checked at compile time
    by _rolling_agg_arguments). Exact, not an approximation: tile j holds the events with j*g <= event_ts <
    (j+1)*g, so for a spine point t = T*g the window [t - W, t) is exactly the tiles T - W/g .. T - 1.

    1. Events are aggregated once per (entity, tile): row count, and per value column count, sum, min, max.
    2. The spine rows and the tiles are unioned and one window per distinct window length runs over each entity's
       rows ordered by tile number, `range between W/g preceding and 1 preceding`; spine rows carry no values, so
       only tiles contribute. count/sum/avg are sums of the tiles' partials, min/max the extremes of theirs.
    3. The spine rows are kept. Duplicate spine rows stay duplicates; spine rows with a NULL key or timestamp
       match no tile (their counts are 0, avg/min/max NULL), as in the bucketed join.
    A spine timestamp off the grid fails the query, naming the timestamp (it would otherwise be silently wrong). -#}
{% macro _rolling_agg_tiled(spine, events, keys, spine_ts, event_ts, extra_cols, outputs, value_columns, tile_seconds,
                            spine_start) -%}
  {%- set ts_type = fstore._timestamp_type() -%}
  {%- set tile_us = tile_seconds * 1000000 -%}
  {%- set max_seconds = outputs | map(attribute='seconds') | max -%}
  {%- set t_us = fstore._epoch_us('_fstore_t') -%}
  {%- set partition = 'partition by ' ~ (keys | join(', ')) ~ ' order by _fstore_tile range between ' -%}
  with _fstore_events as (
    select
      {% for k in keys %}{{ k }}, {% endfor %}
      {%- for c in value_columns %}{{ c }} as _fstore_v{{ loop.index0 }}, {% endfor %}
      {{ fstore._floor_div(fstore._epoch_us('cast(' ~ event_ts ~ ' as ' ~ ts_type ~ ')'), tile_us) }} as _fstore_tile
    from {{ events }}
    where {{ event_ts }} is not null{% for k in keys %} and {{ k }} is not null{% endfor %}
    {%- if spine_start is not none %}
      and {{ event_ts }} >= {{ fstore._shift_seconds('cast(' ~ spine_start ~ ' as ' ~ ts_type ~ ')', -max_seconds) }}
    {%- endif %}
  ),
  _fstore_tiles as (
    select
      {% for k in keys %}{{ k }}, {% endfor %}_fstore_tile,
      count(*) as _fstore_rows
      {%- for c in value_columns %},
      count(_fstore_v{{ loop.index0 }}) as _fstore_n{{ loop.index0 }},
      sum(_fstore_v{{ loop.index0 }}) as _fstore_s{{ loop.index0 }},
      min(_fstore_v{{ loop.index0 }}) as _fstore_lo{{ loop.index0 }},
      max(_fstore_v{{ loop.index0 }}) as _fstore_hi{{ loop.index0 }}
      {%- endfor %}
    from _fstore_events
    group by {% for k in keys %}{{ k }}, {% endfor %}_fstore_tile
  ),
  _fstore_points as (
    select
      {% for k in keys %}{{ k }}, {% endfor %}
      {% for c in extra_cols %}{{ c }}, {% endfor %}
      _fstore_t,
      case
        when _fstore_t is null then null
        when {{ t_us }} % {{ tile_us }} = 0 then {{ fstore._floor_div(t_us, tile_us) }}
        else {{ fstore._raise_error("'fstore.rolling_agg: spine timestamp ' || cast(_fstore_t as " ~ dbt.type_string()
             ~ ") || ' is not on the grid of spine_step (a multiple of " ~ tile_seconds ~ " s since 1970-01-01"
             ~ " 00:00 UTC); build the spine with fstore.feature_spine from an aligned start, or drop spine_step.'") }}
      end as _fstore_tile
    from (
      select
        {% for k in keys %}{{ k }}, {% endfor %}
        {% for c in extra_cols %}{{ c }}, {% endfor %}
        cast({{ spine_ts }} as {{ ts_type }}) as _fstore_t
      from {{ spine }}
    ) as _fstore_s
  ),
  _fstore_rows_and_tiles as (
    select
      {% for k in keys %}{{ k }}, {% endfor %}
      {% for c in extra_cols %}{{ c }}, {% endfor %}
      _fstore_t, _fstore_tile, 1 as _fstore_is_point,
      cast(null as bigint) as _fstore_rows
      {%- for c in value_columns %},
      null as _fstore_n{{ loop.index0 }}, null as _fstore_s{{ loop.index0 }},
      null as _fstore_lo{{ loop.index0 }}, null as _fstore_hi{{ loop.index0 }}
      {%- endfor %}
    from _fstore_points
    union all
    select
      {% for k in keys %}{{ k }}, {% endfor %}
      {% for c in extra_cols %}null, {% endfor %}
      null, _fstore_tile, 0,
      _fstore_rows
      {%- for c in value_columns %},
      _fstore_n{{ loop.index0 }}, _fstore_s{{ loop.index0 }}, _fstore_lo{{ loop.index0 }}, _fstore_hi{{ loop.index0 }}
      {%- endfor %}
    from _fstore_tiles
  ),
  _fstore_windows as (
    select
      {% for k in keys %}{{ k }}, {% endfor %}
      {% for c in extra_cols %}{{ c }}, {% endfor %}
      _fstore_t, _fstore_is_point
      {%- for o in outputs %}
      {%- set frame = 'over (' ~ partition ~ ((o.seconds // tile_seconds) | string) ~ ' preceding and 1 preceding)' %}
      {%- set i = value_columns.index(o.value) if o.value else none %}
      {%- if o.agg == 'count_rows' %},
      sum(_fstore_rows) {{ frame }} as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'count' %},
      sum(_fstore_n{{ i }}) {{ frame }} as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'sum' %},
      sum(_fstore_s{{ i }}) {{ frame }} as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'min' %},
      min(_fstore_lo{{ i }}) {{ frame }} as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'max' %},
      max(_fstore_hi{{ i }}) {{ frame }} as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'avg' %},
      sum(_fstore_s{{ i }}) {{ frame }} as _fstore_o{{ o.slot }},
      sum(_fstore_n{{ i }}) {{ frame }} as _fstore_avg_n{{ o.slot }}
      {%- endif %}
      {%- endfor %}
    from _fstore_rows_and_tiles
  )
  select
    {% for k in keys %}{{ k }}, {% endfor %}
    {% for c in extra_cols %}{{ c }}, {% endfor %}
    _fstore_t as {{ spine_ts }}
    {%- for o in outputs %},
    {% if o.agg in ('count_rows', 'count') -%}
    cast(coalesce(_fstore_o{{ o.slot }}, 0) as bigint)
    {%- elif o.agg == 'sum' -%}
    coalesce(_fstore_o{{ o.slot }}, 0)
    {%- elif o.agg == 'avg' -%}
    case when _fstore_avg_n{{ o.slot }} > 0
      then cast(_fstore_o{{ o.slot }} as {{ fstore.type_double() }}) / _fstore_avg_n{{ o.slot }}
    end
    {%- else -%}
    _fstore_o{{ o.slot }}
    {%- endif %} as {{ o.column_name }}
    {%- endfor %}
  from _fstore_windows
  where _fstore_is_point = 1
{%- endmacro %}
