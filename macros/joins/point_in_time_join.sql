{#-
  point_in_time_join(labels, entity_keys, feature_views, label_timestamp='label_ts')

  Every label row, in order, with the feature values each view held at label_ts (docs/semantics.md section 4).

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
{% macro point_in_time_join(labels, entity_keys, feature_views, label_timestamp='label_ts') %}
  {% set m = 'point_in_time_join' %}
  {% if labels is none %}
    {{ fstore._fail(m, "argument `labels` is missing; pass the label relation, e.g. ref('churn_labels').") }}
  {% endif %}
  {% set keys = fstore._as_column_list(entity_keys, 'entity_keys', m) %}
  {% set label_ts = fstore._as_column_list(label_timestamp, 'label_timestamp', m)[0] %}
  {% if feature_views is none or feature_views is string or feature_views is mapping or feature_views | length == 0 %}
    {{ fstore._fail(m, "argument `feature_views` must be a non-empty list such as [{'relation': ref('user_purchase_features'), 'columns': ['purchase_count_30d'], 'ttl': '2d'}].") }}
  {% endif %}
  {% do fstore._require_columns(labels, keys + [label_ts], 'entity_keys/label_timestamp', m) %}

  {% set allowed_keys = ['relation', 'columns', 'ttl', 'prefix', 'timestamp', 'created_timestamp', 'entity_keys'] %}
  {% set views = [] %}
  {% set outputs_seen = {} %}
  {% for fv in feature_views %}
    {% set where = "feature_views[" ~ loop.index0 ~ "]" %}
    {% if fv is not mapping or fv.get('relation') is none or fv.get('columns') is none %}
      {{ fstore._fail(m, where ~ " needs 'relation' and 'columns', e.g. {'relation': ref('user_session_features'), 'columns': ['session_count_7d'], 'ttl': '2d'}.") }}
    {% endif %}
    {% set unknown_keys = fv.keys() | reject('in', allowed_keys) | list %}
    {% if unknown_keys | length > 0 %}
      {{ fstore._fail(m, where ~ " has unknown key(s) " ~ (unknown_keys | join(', ')) ~ "; allowed keys are " ~ (allowed_keys | join(', ')) ~ ".") }}
    {% endif %}
    {% set fv_keys = fstore._as_column_list(fv.get('entity_keys', keys), where ~ ".entity_keys", m) %}
    {% if fv_keys | length != keys | length %}
      {{ fstore._fail(m, where ~ ".entity_keys has " ~ (fv_keys | length) ~ " column(s) but `entity_keys` has " ~ (keys | length) ~ "; they are matched by position, so give the same number.") }}
    {% endif %}
    {% set ts = fstore._as_column_list(fv.get('timestamp', 'feature_ts'), where ~ ".timestamp", m)[0] %}
    {% set created = fstore._as_column_list(fv.get('created_timestamp'), where ~ ".created_timestamp", m, required=false) %}
    {% set ttl = fstore._parse_duration(fv.ttl, where ~ ".ttl", m) if fv.get('ttl') is not none else none %}
    {% set prefix = fv.get('prefix', '') or '' %}
    {% if fv.columns is mapping %}
      {% set col_pairs = fv.columns.items() | list %}
    {% else %}
      {% set col_pairs = [] %}
      {% for c in fstore._as_column_list(fv.columns, where ~ ".columns", m) %}{% do col_pairs.append((c, c)) %}{% endfor %}
    {% endif %}
    {% if col_pairs | length == 0 %}
      {{ fstore._fail(m, where ~ ".columns is empty; name at least one feature column.") }}
    {% endif %}
    {% set cols = [] %}
    {% for source_col, alias in [(ts, ts)] + col_pairs %}
      {% set source_col = fstore._as_column_list(source_col, where ~ ".columns", m)[0] %}
      {% set out = prefix ~ fstore._as_column_list(alias, where ~ ".columns (alias)", m)[0] %}
      {% if out | lower in outputs_seen or out | lower in (keys + [label_ts]) | map('lower') | list %}
        {% set other = outputs_seen.get(out | lower) %}
        {{ fstore._fail(m, "output column '" ~ out ~ "' of " ~ where ~ " collides with "
           ~ ('a label column' if other is none else ('its own matched timestamp column' if other == where else other))
           ~ "; set a distinct 'prefix' on the feature view or alias the column with 'columns': {'" ~ source_col ~ "': '<new name>'}.") }}
      {% endif %}
      {% do outputs_seen.update({out | lower: where}) %}
      {% if not loop.first %}{% do cols.append({'source': source_col, 'output': out}) %}{% endif %}
    {% endfor %}
    {% do fstore._require_columns(fv.relation, fv_keys + [ts] + created + (cols | map(attribute='source') | list),
                                  where ~ ".entity_keys/timestamp/created_timestamp/columns", m) %}
    {% do views.append({'relation': fv.relation, 'keys': fv_keys, 'ts': ts, 'ts_output': prefix ~ ts,
                        'created': created[0] if created else none, 'ttl_seconds': ttl.seconds if ttl else none,
                        'columns': cols}) %}
  {% endfor %}
  {{ return(adapter.dispatch('point_in_time_join', 'fstore')(labels, keys, label_ts, views)) }}
{% endmacro %}

{#- Portable formulation (no ASOF JOIN needed): per view, union the view's rows and the label rows per entity,
    take the running maximum of the view rows' ordinal in (timestamp, created) order at each label, then fetch that
    one row by equi-join. Sorting, no index and no range join. -#}
{% macro default__point_in_time_join(labels, keys, label_ts, views) -%}
  with _fstore_labels as (
    select row_number() over () as _fstore_rid, _fstore_l.*{{ fstore._label_row_extra('_fstore_l') }}
    from {{ labels }} as _fstore_l
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
    select _fstore_rid, _fstore_ord from (
      select
        _fstore_rid,
        _fstore_kind,
        max(_fstore_ord) over (
          partition by {% for k in keys %}_fstore_k{{ loop.index0 }}{{ ', ' if not loop.last }}{% endfor %}
          order by _fstore_ts, _fstore_kind
          rows between unbounded preceding and current row
        ) as _fstore_ord
      from (
        select {% for k in keys %}_fstore_k{{ loop.index0 }}, {% endfor %}_fstore_ts, 0 as _fstore_kind,
          _fstore_ord, cast(null as bigint) as _fstore_rid
        from _fstore_fv{{ i }}
        union all
        select {% for k in keys %}{{ k }}, {% endfor %}{{ label_ts }}, 1, cast(null as bigint), _fstore_rid
        from _fstore_labels
        where {{ label_ts }} is not null
      ) as _fstore_u
    ) as _fstore_w
    where _fstore_kind = 1
  )
  {%- endfor %}
  select
    {{ fstore._label_star('l', labels) }}
    {%- for v in views %}
    {%- set i = loop.index0 %},
    f{{ i }}._fstore_ts as {{ v.ts_output }}
    {%- for c in v.columns %},
    f{{ i }}._fstore_c{{ loop.index0 }} as {{ c.output }}
    {%- endfor %}
    {%- endfor %}
  from _fstore_labels as l
  {%- for v in views %}
  {%- set i = loop.index0 %}
  left join _fstore_match{{ i }} as m{{ i }} on m{{ i }}._fstore_rid = l._fstore_rid
  left join _fstore_fv{{ i }} as f{{ i }}
    on {% for k in keys %}f{{ i }}._fstore_k{{ loop.index0 }} = l.{{ k }} and {% endfor %}f{{ i }}._fstore_ord = m{{ i }}._fstore_ord
    {%- if v.ttl_seconds is not none %}
    and f{{ i }}._fstore_ts >= {{ fstore._shift_seconds('l.' ~ label_ts, -v.ttl_seconds) }}
    {%- endif %}
  {%- endfor %}
  order by l._fstore_rid
{%- endmacro %}

{#- DuckDB: the native ASOF LEFT JOIN finds the greatest feature_ts <= label_ts per entity. -#}
{% macro duckdb__point_in_time_join(labels, keys, label_ts, views) -%}
  with _fstore_labels as (
    select row_number() over () as _fstore_rid, * from {{ labels }}
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
    l.* exclude (_fstore_rid)
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
  order by l._fstore_rid
{%- endmacro %}

{#- How the final SELECT lists the label relation's own columns without the internal row number. -#}
{% macro _label_row_extra(alias) %}{{ return(adapter.dispatch('_label_row_extra', 'fstore')(alias)) }}{% endmacro %}
{% macro default___label_row_extra(alias) %}{% endmacro %}
{% macro postgres___label_row_extra(alias) %}, {{ alias }} as _fstore_label{% endmacro %}

{% macro _label_star(alias, labels) %}{{ return(adapter.dispatch('_label_star', 'fstore')(alias, labels)) }}{% endmacro %}
{#- Engines without a "star except" list the label columns when the relation can be introspected. -#}
{% macro default___label_star(alias, labels) -%}
  {%- set cols = adapter.get_columns_in_relation(labels) if execute and labels is not string else [] -%}
  {%- if cols | length > 0 -%}
    {%- for c in cols %}{{ alias }}.{{ adapter.quote(c.name) }}{{ ', ' if not loop.last }}{% endfor -%}
  {%- else -%}
    {{ alias }}.* exclude (_fstore_rid)
  {%- endif -%}
{%- endmacro %}
{% macro postgres___label_star(alias, labels) %}({{ alias }}._fstore_label).*{% endmacro %}
{% macro snowflake___label_star(alias, labels) %}{{ alias }}.* exclude (_fstore_rid){% endmacro %}
{% macro bigquery___label_star(alias, labels) %}{{ alias }}.* except (_fstore_rid){% endmacro %}
{% macro spark___label_star(alias, labels) %}{{ alias }}.* except (_fstore_rid){% endmacro %}
