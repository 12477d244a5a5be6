{#- Argument parsing and validation of fstore.point_in_time_join: returns {keys, label_ts, views} (one normalised
    entry per feature view: relation, keys, ts, ts_output, created, ttl_seconds, columns [{source, output}]), or
    fails with a compile error naming the argument and the fix. -#}
{% macro _point_in_time_join_arguments(labels, entity_keys, feature_views, label_timestamp) %}
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

  {% set allowed_keys = ['relation', 'columns', 'ttl', 'prefix', 'timestamp', 'created_timestamp', 'entity_keys', 'available_at'] %}
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
    {% if prefix is not string or (prefix and not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_$]*', prefix)) %}
      {{ fstore._fail(m, where ~ ".prefix is " ~ (prefix | string) ~ ", not the start of a plain column name; use letters, digits and '_', e.g. 'purchase__'.") }}
    {% endif %}
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
    {% set entry = {'relation': fv.relation, 'keys': fv_keys, 'ts': ts, 'ts_output': prefix ~ ts,
                    'created': created[0] if created else none, 'ttl_seconds': ttl.seconds if ttl else none,
                    'columns': cols} %}
    {#- available_at: join what the online store served (the push log), docs/availability.md -#}
    {% if fv.get('available_at') is not none %}
      {% set entry = fstore._available_at_entry(entry, fv.available_at, prefix, where, m) %}
    {% endif %}
    {% do views.append(entry) %}
  {% endfor %}
  {% do return({'keys': keys, 'label_ts': label_ts, 'views': views}) %}
{% endmacro %}
