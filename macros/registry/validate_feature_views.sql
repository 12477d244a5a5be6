{#-
  validate_feature_views()

  Fails the dbt invocation when any model's `meta.feature_view` is invalid (unknown key such as `tll`, missing
  required key, bad duration, key column not in the contract), listing every problem with the model, the key and
  the fix — the same lines `fsync check` prints. fstore runs it as its own `on-run-start` hook, so every project
  that installs the package gets it on `dbt build` / `dbt run` (turn it off with the var
  `fstore_validate_feature_views: false`). Returns no SQL.
-#}
{% macro validate_feature_views() %}
  {% if execute and var('fstore_validate_feature_views', true) %}
    {% set lines = [] %}
    {% for node in graph.nodes.values() | sort(attribute='unique_id')
           if node.resource_type == 'model' and (node.config.meta or {}).get('feature_view') is not none %}
      {% do lines.extend(fstore._feature_view_problem_lines(node, fstore._feature_view_problems(node))) %}
    {% endfor %}
    {% if lines | length > 0 %}
      {{ fstore._fail('validate_feature_views', "invalid meta.feature_view:\n  " ~ (lines | join('\n  '))) }}
    {% endif %}
  {% endif %}
  {{ return('') }}
{% endmacro %}
