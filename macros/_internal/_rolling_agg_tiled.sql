{#- The tiled formulation of fstore.rolling_agg, for a spine on a declared regular grid (spine_step = g, every
    spine timestamp a multiple of g since the epoch) and windows that are multiples of g (checked at compile time
    by _rolling_agg_arguments). Exact, not an approximation: tile j holds the events with j*g <= event_ts <
    (j+1)*g, so for a spine point t = T*g the window [t - W, t) is exactly the tiles T - W/g .. T - 1.

    1. Events are aggregated once per (entity, tile): row count, and per value column count, sum, min, max.
    2. Each entity's grid steps, from its first spine point minus the largest window to its last point, are
       left-joined to the tiles, and a ROWS window of W/g rows (`rows between W/g preceding and 1 preceding`)
       runs over them: count/sum/avg are sums of the tiles' partials, min/max the extremes of theirs. That walks
       every step of the span, so it is meant for dense grids (fstore.feature_spine); for a sparse spine leave
       spine_step out.
    3. The spine rows are joined back on (entity, tile): duplicate spine rows stay duplicates, spine columns are
       carried, and spine rows with a NULL key or timestamp match nothing (counts 0, avg/min/max NULL), as in
       the bucketed join.
    A spine timestamp off the grid fails the query, naming the timestamp (it would otherwise be silently wrong). -#}
{% macro _rolling_agg_tiled(spine, events, keys, spine_ts, event_ts, extra_cols, outputs, value_columns, tile_seconds,
                            spine_start) -%}
  {%- set ts_type = fstore._timestamp_type() -%}
  {%- set tile_us = tile_seconds * 1000000 -%}
  {%- set max_seconds = outputs | map(attribute='seconds') | max -%}
  {%- set t_us = fstore._epoch_us('_fstore_t') -%}
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
  {#- Every grid step of each entity, from its first spine point minus the largest window to its last point, so
      that a window of k steps is exactly the k rows before (a ROWS frame; a RANGE frame over the sparse tiles is
      ~1.7x slower on DuckDB). -#}
  _fstore_span as (
    select {% for k in keys %}{{ k }}, {% endfor %}min(_fstore_tile) - {{ max_seconds // tile_seconds }} as _fstore_lo,
      max(_fstore_tile) as _fstore_hi
    from _fstore_points
    where _fstore_tile is not null{% for k in keys %} and {{ k }} is not null{% endfor %}
    group by {{ keys | join(', ') }}
  ),
  _fstore_steps as (
    select {% for k in keys %}{{ k }}, {% endfor %}{{ fstore._integer_series('_fstore_lo', '_fstore_hi') }} as _fstore_tile
    from _fstore_span
  ),
  _fstore_windows as (
    select
      {% for k in keys %}g.{{ k }}, {% endfor %}g._fstore_tile
      {%- for o in outputs %}
      {%- set frame = 'over (partition by ' ~ ('g.' ~ (keys | join(', g.'))) ~ ' order by g._fstore_tile rows between '
                      ~ ((o.seconds // tile_seconds) | string) ~ ' preceding and 1 preceding)' %}
      {%- set i = value_columns.index(o.value) if o.value else none %}
      {%- if o.agg == 'count_rows' %},
      sum(t._fstore_rows) {{ frame }} as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'count' %},
      sum(t._fstore_n{{ i }}) {{ frame }} as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'sum' %},
      sum(t._fstore_s{{ i }}) {{ frame }} as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'min' %},
      min(t._fstore_lo{{ i }}) {{ frame }} as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'max' %},
      max(t._fstore_hi{{ i }}) {{ frame }} as _fstore_o{{ o.slot }}
      {%- elif o.agg == 'avg' %},
      sum(t._fstore_s{{ i }}) {{ frame }} as _fstore_o{{ o.slot }},
      sum(t._fstore_n{{ i }}) {{ frame }} as _fstore_avg_n{{ o.slot }}
      {%- endif %}
      {%- endfor %}
    from _fstore_steps as g
    left join _fstore_tiles as t
      on {% for k in keys %}t.{{ k }} = g.{{ k }} and {% endfor %}t._fstore_tile = g._fstore_tile
  )
  select
    {% for k in keys %}p.{{ k }}, {% endfor %}
    {% for c in extra_cols %}p.{{ c }}, {% endfor %}
    p._fstore_t as {{ spine_ts }}
    {%- for o in outputs %},
    {% if o.agg in ('count_rows', 'count') -%}
    cast(coalesce(w._fstore_o{{ o.slot }}, 0) as bigint)
    {%- elif o.agg == 'sum' -%}
    coalesce(w._fstore_o{{ o.slot }}, 0)
    {%- elif o.agg == 'avg' -%}
    case when w._fstore_avg_n{{ o.slot }} > 0
      then cast(w._fstore_o{{ o.slot }} as {{ fstore.type_double() }}) / w._fstore_avg_n{{ o.slot }}
    end
    {%- else -%}
    w._fstore_o{{ o.slot }}
    {%- endif %} as {{ o.column_name }}
    {%- endfor %}
  from _fstore_points as p
  left join _fstore_windows as w
    on {% for k in keys %}w.{{ k }} = p.{{ k }} and {% endfor %}w._fstore_tile = p._fstore_tile
{%- endmacro %}
