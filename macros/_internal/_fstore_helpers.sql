{#- Private helpers shared by the public macros. Not part of the public API. -#}

{% macro _fail(macro_name, message) %}
  {{ exceptions.raise_compiler_error("fstore." ~ macro_name ~ ": " ~ message) }}
{% endmacro %}

{#- Parse a duration written <integer><unit> (unit d, h, m, s) into {'seconds': int, 'label': str}. -#}
{% macro _parse_duration(value, arg_name, macro_name) %}
  {% set text = (value | string) | trim %}
  {% set match = modules.re.fullmatch('([0-9]+)([dhms])', text) if value is string else none %}
  {% if not match or (match.group(1) | int) <= 0 %}
    {{ fstore._fail(macro_name, "argument `" ~ arg_name ~ "` is " ~ (value | tojson)
       ~ "; write a positive duration as <integer><unit> with unit d, h, m or s, e.g. '30d', '12h', '90m'"
       ~ " (calendar units such as '30 days' or '1 month' are not exact durations).") }}
  {% endif %}
  {% set factor = {'d': 86400, 'h': 3600, 'm': 60, 's': 1}[match.group(2)] %}
  {% do return({'seconds': (match.group(1) | int) * factor, 'label': text}) %}
{% endmacro %}

{#- A list of column names from a string or a list; `required` makes an empty value an error. -#}
{% macro _as_column_list(value, arg_name, macro_name, required=true) %}
  {% if value is none %}
    {% set cols = [] %}
  {% elif value is string %}
    {% set cols = [value] %}
  {% elif value is iterable and value is not mapping %}
    {% set cols = value | list %}
  {% else %}
    {{ fstore._fail(macro_name, "argument `" ~ arg_name ~ "` must be a column name or a list of column names, got "
       ~ (value | string)) }}
  {% endif %}
  {% for c in cols %}
    {% if c is not string or not modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_$]*', c) %}
      {{ fstore._fail(macro_name, "argument `" ~ arg_name ~ "` holds " ~ (c | string)
         ~ ", which is not a plain column name; pass unquoted identifiers such as 'user_id'.") }}
    {% endif %}
  {% endfor %}
  {% if required and cols | length == 0 %}
    {{ fstore._fail(macro_name, "argument `" ~ arg_name ~ "` is missing; pass at least one column, e.g. "
       ~ arg_name ~ "=['user_id'].") }}
  {% endif %}
  {% do return(cols) %}
{% endmacro %}

{#- When the relation exists in the warehouse, check it has the named columns (compile-time argument check).
    Unit tests and CTE names are skipped: there the input is a fixture whose columns dbt already checks. -#}
{% macro _require_columns(relation, columns, arg_name, macro_name) %}
  {% if execute and relation is not string and relation.identifier is defined %}
    {% set existing = adapter.get_columns_in_relation(relation) %}
    {% if existing | length > 0 %}
      {% set names = existing | map(attribute='name') | map('lower') | list %}
      {% for c in columns %}
        {% if c | lower not in names %}
          {{ fstore._fail(macro_name, "relation " ~ relation ~ " has no column `" ~ c ~ "` (named by `" ~ arg_name
             ~ "`); its columns are: " ~ (names | join(', ')) ~ ". Pass the right column name.") }}
        {% endif %}
      {% endfor %}
    {% endif %}
  {% endif %}
{% endmacro %}

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
{% macro duckdb___floor_div(expr, divisor) -%}
  (({{ expr }}) - (((({{ expr }}) % {{ divisor }}) + {{ divisor }}) % {{ divisor }})) // {{ divisor }}
{%- endmacro %}

{#- Shift a timestamp by a whole number of seconds (exact: timestamps are naive UTC). -#}
{% macro _shift_seconds(expr, seconds) %}{{ return(dbt.dateadd('second', seconds, expr)) }}{% endmacro %}

{#- The canonical feature-layer timestamp type (naive, holding UTC). -#}
{% macro _timestamp_type() %}{{ return(dbt.type_timestamp()) }}{% endmacro %}

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

{#- An 8-byte float (dbt.type_float() is 4-byte on DuckDB). -#}
{% macro _double_type() %}{{ return(adapter.dispatch('_double_type', 'fstore')()) }}{% endmacro %}
{% macro default___double_type() %}double precision{% endmacro %}
{% macro bigquery___double_type() %}float64{% endmacro %}
{% macro spark___double_type() %}double{% endmacro %}
