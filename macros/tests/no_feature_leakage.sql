{#- Fails on every training-set row whose matched feature timestamp lies after its label timestamp. -#}
{% test no_feature_leakage(model, label_timestamp, feature_timestamps) %}
  {% set cols = fstore._as_column_list(feature_timestamps, 'feature_timestamps', 'no_feature_leakage') %}
  select *
  from {{ model }}
  where {% for c in cols %}{{ c }} > {{ label_timestamp }}{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
