{#-
  point_in_time_join(labels, entity_keys, feature_views, label_timestamp='label_ts', keep_label_order=false)

  Every label row (the same multiset of rows) with the feature values each view held at label_ts
  (docs/semantics.md section 4). A table has no row order, so by default the rows come in whatever order the
  join produces; keep_label_order=true adds the final ORDER BY that returns them in the labels' order (fsync's
  SDK and `fsync training-set`, whose readers observe it). Spark has no row order to keep and ignores it.

  feature_views: list of
    {'relation': ref('user_purchase_features', v=2),      -- required
     'columns': ['purchase_count_30d', ...]               -- required; or {'purchase_count_30d': 'purchases_30d'}
     'ttl': '2d',                                         -- optional; rows older than label_ts - ttl never match
     'prefix': 'purchase__',                              -- optional, prepended to every output column
     'timestamp': 'feature_ts',                           -- optional, the view's timestamp column
     'created_timestamp': 'created_ts',                   -- optional, breaks ties on the timestamp
     'entity_keys': ['user_id']}                          -- optional, the view's key columns, matched by position
  Output: the label columns, then per view `<prefix><timestamp>` (the matched feature timestamp, NULL when
  nothing matched) and `<prefix><column or alias>` for each feature column.
-#}
{% macro point_in_time_join(labels, entity_keys, feature_views, label_timestamp='label_ts', keep_label_order=false) %}
  {% set a = fstore._point_in_time_join_arguments(labels, entity_keys, feature_views, label_timestamp) %}
  {% if keep_label_order not in [true, false] %}
    {{ fstore._fail('point_in_time_join', "argument `keep_label_order` is " ~ (keep_label_order | tojson)
       ~ "; pass true (rows in the labels' order, one more sort) or false (the default).") }}
  {% endif %}
  {{ return(adapter.dispatch('point_in_time_join', 'fstore')(labels, a['keys'], a.label_ts, a.views,
                                                              keep_label_order)) }}
{% endmacro %}

{#- Portable formulation (no ASOF JOIN needed): per view, union the view's rows and the distinct label points
    (entity, label_ts) per entity, take the running maximum of the view rows' ordinal in (timestamp, created) order
    at each point, then fetch that one row by equi-join. Sorting, no index and no range join. Label rows are matched
    on (entity, label_ts), never on a row number; the row number only keeps the label order. -#}
{% macro default__point_in_time_join(labels, keys, label_ts, views, keep_order=false) -%}
  {{ return(fstore._point_in_time_join_sorted(labels, keys, label_ts, views, keep_order=keep_order)) }}
{%- endmacro %}

{#- Spark: `row_number() over ()` needs an ORDER BY (and Spark may evaluate an inlined CTE twice), and a Spark table
    has no row order to keep: the label rows come back unordered. -#}
{% macro spark__point_in_time_join(labels, keys, label_ts, views, keep_order=false) -%}
  {{ return(fstore._point_in_time_join_sorted(labels, keys, label_ts, views, keep_order=false)) }}
{%- endmacro %}

{% macro _point_in_time_join_sorted(labels, keys, label_ts, views, keep_order) -%}
  with
  {%- if keep_order %}
  _fstore_labels as (
    select row_number() over () as _fstore_rid, _fstore_l.*{{ fstore._label_row_column('_fstore_l') }}
    from {{ labels }} as _fstore_l
  ),
  {%- endif %}
  _fstore_points as (
    select distinct {% for k in keys %}{{ k }} as _fstore_k{{ loop.index0 }}, {% endfor %}{{ label_ts }} as _fstore_t
    from {{ labels }}
    where {{ label_ts }} is not null
  )
  {%- for v in views %}
  {%- set i = loop.index0 %},
  _fstore_fv{{ i }} as (
    select
      {% for k in v['keys'] %}{{ k }} as _fstore_k{{ loop.index0 }}, {% endfor %}
      {{ v.ts }} as _fstore_ts,
      row_number() over (
        partition by {{ v['keys'] | join(', ') }}
        order by {{ v.ts }}{% if v.created %}, {{ v.created }} nulls first{% endif %}
      ) as _fstore_ord
      {%- for c in v.columns %},
      {{ c.source }} as _fstore_c{{ loop.index0 }}
      {%- endfor %}
    from {{ v.relation }}
    where {{ v.ts }} is not null{% for k in v['keys'] %} and {{ k }} is not null{% endfor %}
  ),
  _fstore_match{{ i }} as (
    select {% for k in keys %}_fstore_k{{ loop.index0 }}, {% endfor %}_fstore_ts as _fstore_t, _fstore_ord from (
      select
        {% for k in keys %}_fstore_k{{ loop.index0 }}, {% endfor %}_fstore_ts,
        _fstore_kind,
        max(_fstore_ord) over (
          partition by {% for k in keys %}_fstore_k{{ loop.index0 }}{{ ', ' if not loop.last }}{% endfor %}
          order by _fstore_ts, _fstore_kind
          rows between unbounded preceding and current row
        ) as _fstore_ord
      from (
        select {% for k in keys %}_fstore_k{{ loop.index0 }}, {% endfor %}_fstore_ts, 0 as _fstore_kind, _fstore_ord
        from _fstore_fv{{ i }}
        union all
        select {% for k in keys %}_fstore_k{{ loop.index0 }}, {% endfor %}_fstore_t, 1, cast(null as bigint)
        from _fstore_points
      ) as _fstore_u
    ) as _fstore_w
    where _fstore_kind = 1
  )
  {%- endfor %}
  select
    {{ fstore._star_except_rid('l', labels) if keep_order else 'l.*' }}
    {%- for v in views %}
    {%- set i = loop.index0 %},
    f{{ i }}._fstore_ts as {{ v.ts_output }}
    {%- for c in v.columns %},
    f{{ i }}._fstore_c{{ loop.index0 }} as {{ c.output }}
    {%- endfor %}
    {%- endfor %}
  from {{ '_fstore_labels' if keep_order else labels }} as l
  {%- for v in views %}
  {%- set i = loop.index0 %}
  left join _fstore_match{{ i }} as m{{ i }}
    on {% for k in keys %}m{{ i }}._fstore_k{{ loop.index0 }} = l.{{ k }} and {% endfor %}m{{ i }}._fstore_t = l.{{ label_ts }}
  left join _fstore_fv{{ i }} as f{{ i }}
    on {% for k in keys %}f{{ i }}._fstore_k{{ loop.index0 }} = l.{{ k }} and {% endfor %}f{{ i }}._fstore_ord = m{{ i }}._fstore_ord
    {%- if v.ttl_seconds is not none %}
    and f{{ i }}._fstore_ts >= {{ fstore._shift_seconds('l.' ~ label_ts, -v.ttl_seconds) }}
    {%- endif %}
  {%- endfor %}
  {%- if keep_order %}
  order by l._fstore_rid
  {%- endif %}
{%- endmacro %}

{#- DuckDB: the native ASOF LEFT JOIN finds the greatest feature_ts <= label_ts per entity. -#}
{% macro duckdb__point_in_time_join(labels, keys, label_ts, views, keep_order=false) -%}
  with _fstore_labels as (
    select {% if keep_order %}row_number() over () as _fstore_rid, {% endif %}* from {{ labels }}
  )
  {%- for v in views %}
  {%- set i = loop.index0 %},
  _fstore_fv{{ i }} as (
    select
      {% for k in v['keys'] %}{{ k }} as _fstore_k{{ loop.index0 }}, {% endfor %}
      {{ v.ts }} as _fstore_ts
      {%- for c in v.columns %},
      {{ c.source }} as _fstore_c{{ loop.index0 }}
      {%- endfor %}
    from {{ v.relation }}
    where {{ v.ts }} is not null
    {%- if v.created %}
    {#- ASOF picks any of several rows with the same timestamp: keep the greatest created_ts (NULL lowest). #}
    qualify row_number() over (
      partition by {{ v['keys'] | join(', ') }}, {{ v.ts }} order by {{ v.created }} desc nulls last
    ) = 1
    {%- endif %}
  )
  {%- endfor %}
  select
    l.*{% if keep_order %} exclude (_fstore_rid){% endif %}
    {%- for v in views %}
    {%- set i = loop.index0 %}
    {%- set alive = ("f" ~ i ~ "._fstore_ts >= " ~ fstore._shift_seconds('l.' ~ label_ts, -v.ttl_seconds)) if v.ttl_seconds is not none else none %},
    {% if alive %}case when {{ alive }} then f{{ i }}._fstore_ts end{% else %}f{{ i }}._fstore_ts{% endif %} as {{ v.ts_output }}
    {%- for c in v.columns %},
    {% if alive %}case when {{ alive }} then f{{ i }}._fstore_c{{ loop.index0 }} end{% else %}f{{ i }}._fstore_c{{ loop.index0 }}{% endif %} as {{ c.output }}
    {%- endfor %}
    {%- endfor %}
  from _fstore_labels as l
  {%- for v in views %}
  {%- set i = loop.index0 %}
  asof left join _fstore_fv{{ i }} as f{{ i }}
    on {% for k in keys %}l.{{ k }} = f{{ i }}._fstore_k{{ loop.index0 }} and {% endfor %}l.{{ label_ts }} >= f{{ i }}._fstore_ts
  {%- endfor %}
  {%- if keep_order %}
  order by l._fstore_rid
  {%- endif %}
{%- endmacro %}
