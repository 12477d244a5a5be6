{#- Cross-database helpers: the porting surface. Each is a thin adapter.dispatch shim with a `default__`
    (portable SQL) and adapter versions only where the engine spells it differently. To run fstore on another
    engine, implement the ones your engine needs as `<adapter>__<name>` in your project, or in a shim package
    listed first in `dispatch: [{macro_namespace: fstore, search_order: [my_shims, fstore]}]`. -#}

{#- Microseconds since the Unix epoch of a (naive UTC) timestamp, as a bigint. -#}
{% macro _epoch_us(expr) %}{{ return(adapter.dispatch('_epoch_us', 'fstore')(expr)) }}{% endmacro %}
{% macro default___epoch_us(expr) %}cast(extract(epoch from {{ expr }}) * 1000000 as bigint){% endmacro %}
{% macro duckdb___epoch_us(expr) %}epoch_us({{ expr }}){% endmacro %}
{% macro spark___epoch_us(expr) %}unix_micros({{ expr }}){% endmacro %}
{% macro bigquery___epoch_us(expr) %}unix_micros({{ expr }}){% endmacro %}
{% macro snowflake___epoch_us(expr) %}date_part(epoch_microsecond, {{ expr }}){% endmacro %}

{#- Floor division of an integer expression by a positive integer, whatever the engine's `/` and `%` do with
    negative numbers: subtract the non-negative remainder first so the division is exact. -#}
{% macro _floor_div(expr, divisor) %}{{ return(adapter.dispatch('_floor_div', 'fstore')(expr, divisor)) }}{% endmacro %}
{% macro default___floor_div(expr, divisor) -%}
  (({{ expr }}) - (((({{ expr }}) % {{ divisor }}) + {{ divisor }}) % {{ divisor }})) / {{ divisor }}
{%- endmacro %}
{#- DuckDB's `/` on integers returns a double: `//` keeps the exact integer. -#}
{% macro duckdb___floor_div(expr, divisor) -%}
  (({{ expr }}) - (((({{ expr }}) % {{ divisor }}) + {{ divisor }}) % {{ divisor }})) // {{ divisor }}
{%- endmacro %}

{#- Shift a timestamp by a whole number of seconds (exact: timestamps are naive UTC). -#}
{% macro _shift_seconds(expr, seconds) %}{{ return(dbt.dateadd('second', seconds, expr)) }}{% endmacro %}

{#- The canonical feature-layer timestamp type (naive, holding UTC). -#}
{% macro _timestamp_type() %}{{ return(dbt.type_timestamp()) }}{% endmacro %}

{#- An 8-byte float (dbt.type_float() is 4-byte on DuckDB). -#}
{% macro _double_type() %}{{ return(adapter.dispatch('_double_type', 'fstore')()) }}{% endmacro %}
{% macro default___double_type() %}double precision{% endmacro %}
{% macro bigquery___double_type() %}float64{% endmacro %}
{% macro spark___double_type() %}double{% endmacro %}

{#- Does a string expression end in a UTC offset (Z, +05, +0530, +05:30) after a time of day? -#}
{% macro _has_utc_offset(expr) %}{{ return(adapter.dispatch('_has_utc_offset', 'fstore')(expr)) }}{% endmacro %}
{% macro _utc_offset_pattern() -%}
'[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)? ?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$'
{%- endmacro %}
{% macro default___has_utc_offset(expr) %}({{ expr }} ~ {{ fstore._utc_offset_pattern() }}){% endmacro %}
{% macro duckdb___has_utc_offset(expr) %}regexp_matches({{ expr }}, {{ fstore._utc_offset_pattern() }}){% endmacro %}
{% macro spark___has_utc_offset(expr) %}({{ expr }} rlike {{ fstore._utc_offset_pattern() }}){% endmacro %}
{% macro snowflake___has_utc_offset(expr) %}regexp_like({{ expr }}, {{ fstore._utc_offset_pattern() }}){% endmacro %}
{% macro bigquery___has_utc_offset(expr) %}regexp_contains({{ expr }}, r{{ fstore._utc_offset_pattern() }}){% endmacro %}

{#- Select every column of a relation aliased `alias` except the internal `_fstore_rid` row number. Engines with a
    star-except say so; the default lists the columns by introspection (Trino and others). -#}
{% macro _star_except_rid(alias, relation) %}{{ return(adapter.dispatch('_star_except_rid', 'fstore')(alias, relation)) }}{% endmacro %}
{% macro default___star_except_rid(alias, relation) -%}
  {%- set cols = adapter.get_columns_in_relation(relation) if execute and relation is not string else [] -%}
  {%- if cols | length > 0 -%}
    {%- for c in cols %}{{ alias }}.{{ adapter.quote(c.name) }}{{ ', ' if not loop.last }}{% endfor -%}
  {%- else -%}
    {{ alias }}.* exclude (_fstore_rid)
  {%- endif -%}
{%- endmacro %}
{#- PostgreSQL has no star-except: the label row travels as one composite column and is expanded at the end. -#}
{% macro postgres___star_except_rid(alias, relation) %}({{ alias }}._fstore_label).*{% endmacro %}
{% macro snowflake___star_except_rid(alias, relation) %}{{ alias }}.* exclude (_fstore_rid){% endmacro %}
{% macro bigquery___star_except_rid(alias, relation) %}{{ alias }}.* except (_fstore_rid){% endmacro %}
{% macro spark___star_except_rid(alias, relation) %}{{ alias }}.* except (_fstore_rid){% endmacro %}

{#- The extra column that carries the whole label row where _star_except_rid needs it (PostgreSQL). -#}
{% macro _label_row_column(alias) %}{{ return(adapter.dispatch('_label_row_column', 'fstore')(alias)) }}{% endmacro %}
{% macro default___label_row_column(alias) %}{% endmacro %}
{% macro postgres___label_row_column(alias) %}, {{ alias }} as _fstore_label{% endmacro %}
