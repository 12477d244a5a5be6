{#- Fails when the column is not the feature layer's canonical UTC type: a timestamp without time zone whose
    wall-clock value is UTC (docs/semantics.md section 1). Strings and timestamptz columns fail (on Spark: only
    timestamp_ntz passes; its `timestamp` is the zoned TIMESTAMP_LTZ). -#}
{% test is_utc_timestamp(model, column_name) %}
  {% set ns = namespace(found=none) %}
  {% if execute %}
    {% for col in adapter.get_columns_in_relation(model) %}
      {% if col.name | lower == column_name | lower %}{% set ns.found = col.data_type | lower %}{% endif %}
    {% endfor %}
  {% endif %}
  {% set found = ns.found %}
  {% set ok = found is not none and fstore._is_naive_timestamp_type(found) %}
  {% if not execute or ok %}
    select '{{ column_name }}' as column_name, '{{ found }}' as data_type where 1 = 0
  {% else %}
    select '{{ column_name }}' as column_name, '{{ found if found is not none else "(column not found)" }}' as data_type
  {% endif %}
{% endtest %}
