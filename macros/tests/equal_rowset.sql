{#- Fails on every row that is in one relation more often than in the other (multiset equality), e.g. a model
    against a seed of its expected output. `columns` limits the comparison to those columns. -#}
{% test equal_rowset(model, compare_model, columns=none) %}
  {% set cols = fstore._as_column_list(columns, 'columns', 'equal_rowset', required=false) %}
  {% set select_list = cols | join(', ') if cols else '*' %}
  with a as (select {{ select_list }} from {{ model }}),
  b as (select {{ select_list }} from {{ compare_model }}),
  a_minus_b as (select * from a except all select * from b),
  b_minus_a as (select * from b except all select * from a)
  select 'only in model' as side, * from a_minus_b
  union all
  select 'only in compare_model' as side, * from b_minus_a
{% endtest %}
