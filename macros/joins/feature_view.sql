{#-
  feature_view(name, columns, version=none, prefix='')

  A `feature_views` entry for point_in_time_join, resolved from the view's own `meta.feature_view` in the dbt
  graph: its relation (ref, pinned to `version`, else the latest), timestamp, created_timestamp, entity keys and
  TTL. The TTL is declared once, on the view, so a training set ages features out exactly as online serving does.
  An invalid meta.feature_view (unknown key such as `tll`, missing key, bad duration) is a compile error.
-#}
{% macro feature_view(name, columns, version=none, prefix='') %}
  {% set m = 'feature_view' %}
  {% if name is not string or name | length == 0 %}
    {{ fstore._fail(m, "argument `name` must be a feature view model name, e.g. 'user_purchase_features'.") }}
  {% endif %}
  {% if columns is none or columns | length == 0 %}
    {{ fstore._fail(m, "argument `columns` is missing; list the feature columns to join from '" ~ name ~ "'.") }}
  {% endif %}
  {% set entry = {'relation': ref(name, v=version) if version is not none else ref(name), 'columns': columns, 'prefix': prefix} %}
  {% if execute %}
    {% set node = fstore._model_node(name, version, m) %}
    {% if (node.config.meta or {}).get('feature_view') is none %}
      {{ fstore._fail(m, "model '" ~ name ~ "' has no meta.feature_view block; declare entity_keys, timestamp, ttl, freshness_sla, owner and online in its YAML config.meta.feature_view.") }}
    {% endif %}
    {% set spec = fstore._feature_view_spec(node, m) %}
    {% do entry.update({'timestamp': spec.timestamp, 'entity_keys': spec.entity_keys, 'ttl': spec.ttl}) %}
    {% if spec.created_timestamp is not none %}{% do entry.update({'created_timestamp': spec.created_timestamp}) %}{% endif %}
  {% endif %}
  {% do return(entry) %}
{% endmacro %}
