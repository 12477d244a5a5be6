{#-
  rolling_agg(spine, events, entity_keys, aggregations, windows, spine_timestamp='feature_ts',
              event_timestamp='event_ts', spine_columns=[], as_known_at=none)

  One output row per spine row: the spine's entity keys, its timestamp, any `spine_columns`, and one column
  `<name>_<window>` per aggregation x window, computed over the events of the entity with
  spine_ts - W <= event_ts < spine_ts (docs/semantics.md section 3).

  aggregations: list of {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount', 'windows': ['30d']}
                (`column` is not used by count_rows; `windows` overrides the macro-level `windows`).
  as_known_at:  none, or {'ingested_at': 'ingested_at', 'key': ['order_id', 'line_item_id']} to count only the
                versions known at the spine time (`events` then holds every version, not deduplicated).

  How: the events are bucketed on floor(epoch_us / W_max); each spine row probes its own bucket and the previous
  one, so the join is an equi-join on (entity, bucket) followed by the exact range predicate. The pairs examined
  are those within 2 x W_max of the spine time, never the entity's whole history, and never a cross join.
-#}
{% macro rolling_agg(spine, events, entity_keys, aggregations, windows=none, spine_timestamp='feature_ts',
                     event_timestamp='event_ts', spine_columns=none, as_known_at=none) %}
  {% set m = 'rolling_agg' %}
  {% if spine is none %}
    {{ fstore._fail(m, "argument `spine` is missing; pass the relation of (entity, timestamp) rows to compute features at, e.g. a fstore.feature_spine(...) CTE or ref('labels').") }}
  {% endif %}
  {% if events is none %}
    {{ fstore._fail(m, "argument `events` is missing; pass the staged, UTC-normalised events, e.g. ref('stg_purchases').") }}
  {% endif %}
  {% set keys = fstore._as_column_list(entity_keys, 'entity_keys', m) %}
  {% set spine_ts = fstore._as_column_list(spine_timestamp, 'spine_timestamp', m)[0] %}
  {% set event_ts = fstore._as_column_list(event_timestamp, 'event_timestamp', m)[0] %}
  {% set extra_cols = fstore._as_column_list(spine_columns, 'spine_columns', m, required=false) %}

  {% set default_windows = [] %}
  {% if windows is not none %}
    {% if windows is string %}{% set windows = [windows] %}{% endif %}
    {% for w in windows %}{% do default_windows.append(fstore._parse_duration(w, 'windows', m)) %}{% endfor %}
  {% endif %}

  {% if aggregations is none or aggregations is string or aggregations is mapping or aggregations | length == 0 %}
    {{ fstore._fail(m, "argument `aggregations` must be a non-empty list such as [{'name': 'purchase_count', 'agg': 'count_rows'}, {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount'}].") }}
  {% endif %}

  {#- Expand aggregations x windows into output columns; validate each spec. -#}
  {% set outputs = [] %}
  {% set value_columns = [] %}
  {% set allowed = ['count_rows', 'count', 'sum', 'avg', 'min', 'max', 'count_distinct'] %}
  {% for a in aggregations %}
    {% if a is not mapping or 'name' not in a or 'agg' not in a %}
      {{ fstore._fail(m, "each entry of `aggregations` needs 'name' and 'agg', got " ~ (a | string) ~ "; e.g. {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount'}.") }}
    {% endif %}
    {% set unknown_keys = a.keys() | reject('in', ['name', 'agg', 'column', 'windows']) | list %}
    {% if unknown_keys | length > 0 %}
      {{ fstore._fail(m, "aggregation '" ~ a.name ~ "' has unknown key(s) " ~ (unknown_keys | join(', ')) ~ "; allowed keys are name, agg, column, windows.") }}
    {% endif %}
    {% if a.agg not in allowed %}
      {{ fstore._fail(m, "aggregation '" ~ a.name ~ "' has unknown agg '" ~ a.agg ~ "'; use one of " ~ (allowed | join(', ')) ~ ".") }}
    {% endif %}
    {% set name = fstore._as_column_list(a.name, "aggregations[].name", m)[0] %}
    {% if a.agg == 'count_rows' %}
      {% set col = none %}
    {% else %}
      {% if a.get('column') is none %}
        {{ fstore._fail(m, "aggregation '" ~ name ~ "' (" ~ a.agg ~ ") needs a 'column' to aggregate; only count_rows counts rows without one.") }}
      {% endif %}
      {% set col = fstore._as_column_list(a.column, "aggregations[].column", m)[0] %}
      {% if col not in value_columns %}{% do value_columns.append(col) %}{% endif %}
    {% endif %}
    {% set agg_windows = [] %}
    {% if a.get('windows') is not none %}
      {% set ws = [a.windows] if a.windows is string else a.windows %}
      {% for w in ws %}{% do agg_windows.append(fstore._parse_duration(w, "windows of aggregation '" ~ name ~ "'", m)) %}{% endfor %}
    {% else %}
      {% set agg_windows = default_windows %}
    {% endif %}
    {% if agg_windows | length == 0 %}
      {{ fstore._fail(m, "aggregation '" ~ name ~ "' has no window; pass windows=['30d'] to rolling_agg or 'windows' in the aggregation.") }}
    {% endif %}
    {% for w in agg_windows %}
      {% do outputs.append({'column_name': name ~ '_' ~ w.label, 'agg': a.agg, 'value': col, 'seconds': w.seconds,
                            'slot': outputs | length}) %}
    {% endfor %}
  {% endfor %}

  {% set seen = [] %}
  {% for o in outputs %}
    {% if o.column_name | lower in seen or o.column_name | lower in (keys + [spine_ts] + extra_cols) | map('lower') | list %}
      {{ fstore._fail(m, "output column '" ~ o.column_name ~ "' would appear twice; give the aggregations distinct names.") }}
    {% endif %}
    {% do seen.append(o.column_name | lower) %}
  {% endfor %}

  {% set known = none %}
  {% if as_known_at is not none %}
    {% if as_known_at is not mapping or 'ingested_at' not in as_known_at or 'key' not in as_known_at %}
      {{ fstore._fail(m, "argument `as_known_at` must be {'ingested_at': '<column>', 'key': ['<dedup key column>', ...]}, got " ~ (as_known_at | string) ~ ".") }}
    {% endif %}
    {% set known = {'ingested_at': fstore._as_column_list(as_known_at.ingested_at, 'as_known_at.ingested_at', m)[0],
                    'key': fstore._as_column_list(as_known_at.key, 'as_known_at.key', m)} %}
  {% endif %}

  {% do fstore._require_columns(spine, keys + [spine_ts] + extra_cols, 'entity_keys/spine_timestamp/spine_columns', m) %}
  {% do fstore._require_columns(events, keys + [event_ts] + value_columns + ((known.key + [known.ingested_at]) if known else []),
                                'entity_keys/event_timestamp/aggregations[].column/as_known_at', m) %}

  {{ return(adapter.dispatch('rolling_agg', 'fstore')(spine, events, keys, spine_ts, event_ts, extra_cols,
                                                       outputs, value_columns, known)) }}
{% endmacro %}

{% macro default__rolling_agg(spine, events, keys, spine_ts, event_ts, extra_cols, outputs, value_columns, known) -%}
  {%- set max_seconds = outputs | map(attribute='seconds') | max -%}
  {%- set bucket_us = max_seconds * 1000000 -%}
  {%- set ts_type = fstore._timestamp_type() -%}
  with _fstore_spine as (
    select
      row_number() over () as _fstore_rid,
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
  ),
  _fstore_probe as (
    select _fstore_rid, {% for k in keys %}{{ k }}, {% endfor %}_fstore_t,
      {{ fstore._floor_div(fstore._epoch_us('_fstore_t'), bucket_us) }} as _fstore_bucket
    from _fstore_spine
    where _fstore_t is not null
    union all
    select _fstore_rid, {% for k in keys %}{{ k }}, {% endfor %}_fstore_t,
      {{ fstore._floor_div(fstore._epoch_us('_fstore_t'), bucket_us) }} - 1 as _fstore_bucket
    from _fstore_spine
    where _fstore_t is not null
  ),
  _fstore_agg as (
    select
      p._fstore_rid
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
    group by p._fstore_rid
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
      then cast(a._fstore_o{{ o.slot }} as {{ fstore._double_type() }}) / a._fstore_n{{ o.slot }}
    end
    {%- else -%}
    a._fstore_o{{ o.slot }}
    {%- endif %} as {{ o.column_name }}
    {%- endfor %}
  from _fstore_spine as s
  left join _fstore_agg as a on a._fstore_rid = s._fstore_rid
{%- endmacro %}
