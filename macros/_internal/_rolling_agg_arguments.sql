{#- Argument parsing and validation of fstore.rolling_agg: returns the normalised arguments
    {keys, spine_ts, event_ts, extra_cols, outputs, value_columns, known, step_seconds, tiled, spine_start} the
    implementations take, or fails with a compile error naming the argument and the fix. -#}
{% macro _rolling_agg_arguments(spine, events, entity_keys, aggregations, windows, spine_timestamp, event_timestamp,
                                spine_columns, as_known_at, spine_step=none, spine_start=none) %}
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

  {#- A declared grid: every window must be a whole number of steps, so that [t - W, t) is W / step whole tiles. -#}
  {% set step = fstore._parse_duration(spine_step, 'spine_step', m) if spine_step is not none else none %}
  {% if step %}
    {% for o in outputs if o.seconds % step.seconds != 0 %}
      {{ fstore._fail(m, "window of output column '" ~ o.column_name ~ "' is not a multiple of `spine_step` '"
         ~ step.label ~ "'; use windows that are whole multiples of the spine's step, or drop `spine_step` to use"
         ~ " the bucketed join, which takes any window.") }}
    {% endfor %}
  {% endif %}
  {#- Tiles hold count/sum/min/max per step; a distinct count cannot be summed over tiles, and a version's
      validity [ingested_at, superseded) is not a per-tile property: those keep the bucketed join. -#}
  {% set tiled = step is not none and known is none
                 and (outputs | selectattr('agg', 'equalto', 'count_distinct') | list | length) == 0 %}
  {% if spine_start is not none and (spine_start | string | trim) == '' %}
    {{ fstore._fail(m, "argument `spine_start` is empty; pass a SQL timestamp expression no later than the"
       ~ " first spine timestamp, e.g. \"'2024-01-01'\", or leave it out.") }}
  {% endif %}

  {% do fstore._require_columns(spine, keys + [spine_ts] + extra_cols, 'entity_keys/spine_timestamp/spine_columns', m) %}
  {% do fstore._require_columns(events, keys + [event_ts] + value_columns + ((known.key + [known.ingested_at]) if known else []),
                                'entity_keys/event_timestamp/aggregations[].column/as_known_at', m) %}

  {% do return({'keys': keys, 'spine_ts': spine_ts, 'event_ts': event_ts, 'extra_cols': extra_cols,
                  'outputs': outputs, 'value_columns': value_columns, 'known': known,
                  'step_seconds': step.seconds if step else none, 'tiled': tiled, 'spine_start': spine_start}) %}
{% endmacro %}
