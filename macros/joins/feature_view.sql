{#-
  feature_view(name, columns, version=none, prefix='')

  A `feature_views` entry for point_in_time_join, resolved from the view's own `meta.feature_view` in the dbt
  graph: its relation (ref, pinned to `version`, else the latest), timestamp, created_timestamp, entity keys and
  TTL. The TTL is declared once, on the view, so a training set ages features out exactly as online serving does.
-#}
{% macro feature_view(name, columns, version=none, prefix='') %}
  {% set m = 'feature_view' %}
  {% if name is not string or name | length == 0 %}
    {{ fstore._fail(m, "argument `name` must be a feature view model name, e.g. 'user_purchase_features'.") }}
  {% endif %}
  {% if columns is none or columns | length == 0 %}
    {{ fstore._fail(m, "argument `columns` is missing; list the feature columns to join from '" ~ name ~ "'.") }}
  {% endif %}
  {% set relation = ref(name, v=version) if version is not none else ref(name) %}
  {% set spec = {'relation': relation, 'columns': columns, 'prefix': prefix} %}
  {% if execute %}
    {% set ns = namespace(node=none) %}
    {% for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name %}
      {% set wanted = version if version is not none else node.latest_version %}
      {% if wanted is none or (node.version | string) == (wanted | string) %}{% set ns.node = node %}{% endif %}
    {% endfor %}
    {% if ns.node is none %}
      {{ fstore._fail(m, "no model '" ~ name ~ "'" ~ (" version " ~ version if version is not none else "") ~ " in this project; check the name and version.") }}
    {% endif %}
    {% set meta = (ns.node.config.meta or {}).get('feature_view') %}
    {% if meta is not mapping %}
      {{ fstore._fail(m, "model '" ~ name ~ "' has no meta.feature_view block; declare entity_keys, timestamp and ttl in its YAML config.meta.feature_view.") }}
    {% endif %}
    {% for required in ['entity_keys', 'timestamp'] %}
      {% if meta.get(required) is none %}
        {{ fstore._fail(m, "model '" ~ name ~ "' meta.feature_view has no '" ~ required ~ "'; add it to the model's YAML.") }}
      {% endif %}
    {% endfor %}
    {% do spec.update({'timestamp': meta.timestamp, 'entity_keys': meta.entity_keys}) %}
    {% if meta.get('ttl') is not none %}{% do spec.update({'ttl': meta.ttl}) %}{% endif %}
    {% if meta.get('created_timestamp') is not none %}{% do spec.update({'created_timestamp': meta.created_timestamp}) %}{% endif %}
  {% endif %}
  {% do return(spec) %}
{% endmacro %}
