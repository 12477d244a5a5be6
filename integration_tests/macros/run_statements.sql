{#- Test scaffolding: run SQL statements one by one on the target, through dbt's own connection (the Spark engine
    of tests/fstore_testing registers its Parquet-backed reference tables this way, since the embedded metastore
    admits one process at a time). `dbt run-operation run_statements --args '{statements: [...]}'`. -#}
{% macro run_statements(statements) %}
  {% for sql in statements %}
    {% do run_query(sql) %}
  {% endfor %}
{% endmacro %}
