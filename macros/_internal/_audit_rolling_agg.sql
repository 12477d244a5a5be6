{#-
  The stand-in for fstore.rolling_agg that `fsync audit` (docs/audit.md) puts in place when it re-renders a
  canonical feature view's own model: fsync compiles the model's SQL inline with `fstore` shadowed by a mapping
  whose `rolling_agg` is this macro, once per variant, and sets the variant in the mutable
  var('fstore_audit') = {'rules': [...], 'legacy': relation, 'keys': [legacy key per entity key],
  'timestamp': legacy timestamp column, 'time_zone': IANA zone} before each copy of the model.

  The spine becomes the legacy relation's (entity, timestamp) points, moved by the point rules, and the events,
  aggregations and as_known_at change per rule. Every rule but calendar_month is the canonical macro with a changed
  argument; calendar_month is not a duration (docs/semantics.md refuses months), so it is hand-rolled below and
  labelled as such.
-#}
{% macro _audit_rolling_agg(spine, events, entity_keys, aggregations, windows=none, spine_timestamp='feature_ts',
                            event_timestamp='event_ts', spine_columns=none, as_known_at=none) %}
  {%- set audit = var('fstore_audit') -%}
  {%- set rules = audit.rules -%}
  {%- set keys = fstore._as_column_list(entity_keys, 'entity_keys', 'rolling_agg') -%}
  {%- set spine_ts = fstore._as_column_list(spine_timestamp, 'spine_timestamp', 'rolling_agg')[0] -%}
  {%- set points -%}
    (select distinct
      {%- for k in keys %} {{ audit['keys'][loop.index0] }} as {{ k }},{% endfor %}
      {{ fstore._audit_point(audit.timestamp) }} as {{ spine_ts }}
    from {{ audit.legacy }}
    where {{ audit.timestamp }} is not null) as _audit_points
  {%- endset -%}

  {%- set known = as_known_at -%}
  {%- if known is not none and 'final_data' in rules -%}
    {#- today's data: the latest version per key, whenever it was ingested -#}
    {%- set events = '(' ~ fstore.dedup_events(events, known.key, known.ingested_at) ~ ') as _audit_final' -%}
    {%- set known = none -%}
  {%- elif known is not none and 'no_dedup' in rules -%}
    {#- every version of a line item is a row of its own -#}
    {%- set known = none -%}
  {%- endif -%}

  {%- set aggs = [] -%}
  {%- for a in aggregations -%}
    {%- if 'null_counted' in rules and a is mapping and a.get('agg') == 'count' -%}
      {%- set b = {} -%}
      {%- for k, v in a.items() if k != 'column' -%}{%- do b.update({k: v}) -%}{%- endfor -%}
      {%- do b.update({'agg': 'count_rows'}) -%}
      {%- do aggs.append(b) -%}
    {%- else -%}
      {%- do aggs.append(a) -%}
    {%- endif -%}
  {%- endfor -%}

  {%- if 'calendar_month' in rules -%}
    {{ return(fstore._audit_calendar_month(points, events, entity_keys, aggs, windows, spine_timestamp,
                                           event_timestamp, known)) }}
  {%- endif -%}
  {#- any further argument of rolling_agg (kwargs) goes through unchanged -#}
  {{ return(fstore.rolling_agg(points, events, entity_keys, aggs, windows, spine_timestamp, event_timestamp,
                               none, known, **kwargs)) }}
{% endmacro %}


{#- A legacy point moved by the point rules: wall_clock_anchor (the value was computed at the midnight before the
    point), local_time_zone (the point is a wall time of audit.time_zone, converted with fstore.to_utc) and
    end_inclusive (the window is (t - W, t]: the canonical window at t + 1 microsecond). -#}
{% macro _audit_point(expression) %}
  {%- set audit = var('fstore_audit') -%}
  {%- set e = expression -%}
  {%- if 'wall_clock_anchor' in audit.rules -%}
    {%- set e = 'cast(cast(' ~ e ~ ' as date) as ' ~ fstore._timestamp_type() ~ ')' -%}
  {%- endif -%}
  {%- if 'local_time_zone' in audit.rules -%}
    {%- set e = fstore.to_utc(e, audit.time_zone) -%}
  {%- endif -%}
  {%- if 'end_inclusive' in audit.rules -%}
    {%- set e = '(' ~ e ~ " + interval '1 microsecond')" -%}
  {%- endif -%}
  {{ return(e) }}
{% endmacro %}


{#- NOT CANONICAL, hand-rolled on purpose: the calendar month to date, [first instant of t's UTC month, t), for
    every aggregation of the call (its window ignored), with the same as_known_at rule as rolling_agg. -#}
{% macro _audit_calendar_month(points, events, entity_keys, aggregations, windows, spine_timestamp, event_timestamp,
                               as_known_at) %}
  {%- set a = fstore._rolling_agg_arguments(points, events, entity_keys, aggregations, windows, spine_timestamp,
                                            event_timestamp, none, as_known_at) -%}
  {%- set ts_type = fstore._timestamp_type() -%}
  {%- set known = a.known -%}
  {%- set version_cols = [] -%}
  {%- for c in a['keys'] + (known.key if known else []) + a.value_columns + [a.event_ts]
               + ([known.ingested_at] if known else []) -%}
    {%- if c not in version_cols %}{% do version_cols.append(c) %}{% endif -%}
  {%- endfor -%}
  with _audit_spine as (
    select distinct {% for k in a['keys'] %}{{ k }}, {% endfor %}cast({{ a.spine_ts }} as {{ ts_type }}) as _audit_t
    from {{ points }}
  ),
  _audit_events as (
    select
      {% for c in version_cols %}{{ c }}, {% endfor %}
      {%- if known %}
      lead({{ known.ingested_at }}) over (partition by {{ known.key | join(', ') }} order by {{ known.ingested_at }})
      {%- else %}
      cast(null as {{ ts_type }})
      {%- endif %} as _audit_known_until
    from (select distinct {{ version_cols | join(', ') }} from {{ events }}
          {%- if known %} where {{ known.ingested_at }} is not null{% endif %}) as v
  )
  select
    {% for k in a['keys'] %}s.{{ k }}, {% endfor %}s._audit_t as {{ a.spine_ts }}
    {%- for o in a.outputs %},
    {%- set v = 'e.' ~ o.value if o.value else none %}
    {% if o.agg == 'count_rows' -%} count(e.{{ a.event_ts }})
    {%- elif o.agg == 'count' -%} count({{ v }})
    {%- elif o.agg == 'count_distinct' -%} count(distinct {{ v }})
    {%- elif o.agg == 'sum' -%} coalesce(sum({{ v }}), 0)
    {%- elif o.agg == 'avg' -%} avg(cast({{ v }} as {{ fstore.type_double() }}))
    {%- else -%} {{ o.agg }}({{ v }})
    {%- endif %} as {{ o.column_name }}
    {%- endfor %}
  from _audit_spine as s
  left join _audit_events as e
    on {% for k in a['keys'] %}e.{{ k }} = s.{{ k }} and {% endfor %}e.{{ a.event_ts }} >= cast({{ dbt.date_trunc('month', 's._audit_t') }} as {{ ts_type }})
    and e.{{ a.event_ts }} < s._audit_t
    {%- if known %}
    and e.{{ known.ingested_at }} <= s._audit_t
    and (e._audit_known_until is null or e._audit_known_until > s._audit_t)
    {%- endif %}
  group by {% for k in a['keys'] %}s.{{ k }}, {% endfor %}s._audit_t
{% endmacro %}
