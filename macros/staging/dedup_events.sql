{#-
  dedup_events(relation, key_columns, version_column='ingested_at')

  One row per key: exact duplicates collapse, and where versions differ the latest `version_column` wins
  (NULL loses). Returns a full SELECT of the relation's columns.
-#}
{% macro dedup_events(relation, key_columns, version_column='ingested_at') %}
  {% if relation is none %}
    {{ fstore._fail('dedup_events', "argument `relation` is missing; pass ref('...') or source('...', '...').") }}
  {% endif %}
  {% set keys = fstore._as_column_list(key_columns, 'key_columns', 'dedup_events') %}
  {% set version = fstore._as_column_list(version_column, 'version_column', 'dedup_events')[0] %}
  {% do fstore._require_columns(relation, keys + [version], 'key_columns/version_column', 'dedup_events') %}
  {{ return(adapter.dispatch('dedup_events', 'fstore')(relation, keys, version)) }}
{% endmacro %}

{% macro default__dedup_events(relation, keys, version) -%}
  select *
  from {{ relation }}
  qualify row_number() over (
    partition by {{ keys | join(', ') }}
    order by {{ version }} desc nulls last
  ) = 1
{%- endmacro %}

{#- PostgreSQL has no QUALIFY; DISTINCT ON is its native "first row per key". -#}
{% macro postgres__dedup_events(relation, keys, version) -%}
  select distinct on ({{ keys | join(', ') }}) *
  from {{ relation }}
  order by {{ keys | join(', ') }}, {{ version }} desc nulls last
{%- endmacro %}
