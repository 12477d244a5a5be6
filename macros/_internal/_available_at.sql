{#- Serving-exact point-in-time joins (docs/availability.md): a feature_views entry with `available_at` (the push log
    that `fsync logs export --push-log` writes, e.g. source('fsync', 'fsync_push_log')) joins each label to what the
    online store actually served at label_ts instead of the row with the greatest feature_ts <= label_ts.

    The view is replaced by its served states, one event per change: every push of an entity (at the push's
    available_at, with the row it wrote: the view's row at that entity and feature_ts) and, where no later push came
    first, its expiry (at feature_ts + ttl + 1 microsecond, with nothing). The join then takes the latest event at or
    before label_ts with no TTL of its own, so a label gets the row of the latest push before it, push delays
    included, and nothing once that row expired. Output columns: `<prefix><timestamp>` is the served row's
    feature_ts (NULL when nothing was served), `<prefix>available_at` when that state began. Entity keys are matched
    as the push log's text (integer and text keys; composite keys joined by `|`). -#}
{% macro _available_at_view(entry, push_log, prefix, where, macro_name) %}
  {% if not execute %}{% do return(entry.relation) %}{% endif %}
  {% if entry.ttl_seconds is none %}
    {{ fstore._fail(macro_name, where ~ ".available_at needs the view's ttl (use fstore.feature_view(...) or give 'ttl').") }}
  {% endif %}
  {% set rel = entry.relation %}
  {% set identifier = rel.identifier if rel is not string and rel.identifier is defined else (rel | string).split('.')[-1] | replace('"', '') %}
  {% set keys = entry['keys'] %}
  {% set parts = [] %}
  {% for k in keys %}{% do parts.append('cast(_fstore_v.' ~ k ~ ' as ' ~ dbt.type_string() ~ ')') %}{% if not loop.last %}{% do parts.append("'|'") %}{% endif %}{% endfor %}
  {% set key_text = parts[0] if parts | length == 1 else dbt.concat(parts) %}
  {% set cols = entry.columns %}
  {% set pushes -%}
    select
      {% for k in keys %}_fstore_v.{{ k }}, {% endfor %}_fstore_p.available_at as _fstore_available_at,
      _fstore_p.feature_ts as _fstore_feature_ts,
      {{ fstore._shift_microseconds(fstore._shift_seconds('_fstore_p.feature_ts', entry.ttl_seconds), 1) }} as _fstore_expires_at
      {%- for c in cols %}, _fstore_v.{{ c.source }} as _fstore_c{{ loop.index0 }}{% endfor %}
    from {{ push_log }} as _fstore_p
    join (
      select *{% if entry.created %}, row_number() over (partition by {{ keys | join(', ') }}, {{ entry.ts }} order by {{ entry.created }} desc nulls last) as _fstore_rn{% endif %}
      from {{ rel }}
    ) as _fstore_v
      on _fstore_p.relation = '{{ identifier }}' and _fstore_p.entity_key = {{ key_text }}
      and _fstore_p.feature_ts = _fstore_v.{{ entry.ts }}{% if entry.created %} and _fstore_v._fstore_rn = 1{% endif %}
  {%- endset %}
  {% set events -%}
    (with _fstore_pushes as ({{ pushes }}),
    _fstore_next as (
      select *, lead(_fstore_available_at) over (partition by {{ keys | join(', ') }} order by _fstore_available_at) as _fstore_next_at
      from _fstore_pushes
    )
    select {% for k in keys %}{{ k }}, {% endfor %}_fstore_available_at as available_at, _fstore_feature_ts
      {%- for c in cols %}, _fstore_c{{ loop.index0 }}{% endfor %}
    from _fstore_pushes
    union all
    select {% for k in keys %}{{ k }}, {% endfor %}_fstore_expires_at, cast(null as {{ fstore._timestamp_type() }})
      {%- for c in cols %}, null{% endfor %}
    from _fstore_next
    where _fstore_next_at is null or _fstore_next_at > _fstore_expires_at)
  {%- endset %}
  {% do return(events) %}
{% endmacro %}

{#- The normalised point_in_time_join entry of a view joined through its push log (see above). -#}
{% macro _available_at_entry(entry, push_log, prefix, where, macro_name) %}
  {% set columns = [{'source': '_fstore_feature_ts', 'output': entry.ts_output}] %}
  {% for c in entry.columns %}{% do columns.append({'source': '_fstore_c' ~ loop.index0, 'output': c.output}) %}{% endfor %}
  {% do return({'relation': fstore._available_at_view(entry, push_log, prefix, where, macro_name), 'keys': entry['keys'],
                'ts': 'available_at', 'ts_output': prefix ~ 'available_at', 'created': none, 'ttl_seconds': none,
                'columns': columns}) %}
{% endmacro %}

{#- A feature_views entry (e.g. of fstore.feature_view) joined through the push log `push_log` (fsync's SDK uses it). -#}
{% macro _with_available_at(entry, push_log) %}
  {% do entry.update({'available_at': push_log}) %}
  {% do return(entry) %}
{% endmacro %}
