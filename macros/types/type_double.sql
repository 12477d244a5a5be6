{#-
  type_double()

  The name of an 8-byte floating-point type on the current engine, for casts and contracts that must mean the same
  thing everywhere (`dbt.type_float()` is a 4-byte float on DuckDB and Spark; Spark does not parse
  `double precision`).
-#}
{% macro type_double() %}{{ return(adapter.dispatch('type_double', 'fstore')()) }}{% endmacro %}
{% macro default__type_double() %}double precision{% endmacro %}
{#- BigQuery spells it FLOAT64. -#}
{% macro bigquery__type_double() %}float64{% endmacro %}
{#- Spark: DOUBLE (no `double precision` in its grammar). -#}
{% macro spark__type_double() %}double{% endmacro %}
