{#- Fails on every combination of `columns` that appears more than once (e.g. one row per entity and feature_ts). -#}
{% test unique_combination(model, columns) %}
  {% set cols = fstore._as_column_list(columns, 'columns', 'unique_combination') %}
  select {{ cols | join(', ') }}, count(*) as n_rows
  from {{ model }}
  group by {{ cols | join(', ') }}
  having count(*) > 1
{% endtest %}
