{#- Fails when the model's row count differs from `compare_model`'s (e.g. a training set vs its labels). -#}
{% test row_count_matches(model, compare_model) %}
  select model_rows, compare_rows
  from (select count(*) as model_rows from {{ model }}) as a
  cross join (select count(*) as compare_rows from {{ compare_model }}) as b
  where model_rows <> compare_rows
{% endtest %}
