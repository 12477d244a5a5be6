{#- Cross-database helpers: the porting surface. Each is a thin adapter.dispatch shim with a `default__`
    (portable SQL) and adapter versions only where the engine spells it differently. To run fstore on another
    engine, implement the ones your engine needs as `<adapter>__<name>` in your project, or in a shim package
    listed first in `dispatch: [{macro_namespace: fstore, search_order: [my_shims, fstore]}]`. -#}

{#- Microseconds since the Unix epoch of a (naive UTC) timestamp, as a bigint. -#}
{% macro _epoch_us(expr) %}{{ return(adapter.dispatch('_epoch_us', 'fstore')(expr)) }}{% endmacro %}
{% macro default___epoch_us(expr) %}cast(extract(epoch from {{ expr }}) * 1000000 as bigint){% endmacro %}
{% macro duckdb___epoch_us(expr) %}epoch_us({{ expr }}){% endmacro %}
{#- Spark: unix_micros takes a TIMESTAMP_LTZ (session-zone dependent); the difference of two TIMESTAMP_NTZ is exact. -#}
{% macro spark___epoch_us(expr) %}timestampdiff(MICROSECOND, timestamp_ntz'1970-01-01 00:00:00', {{ expr }}){% endmacro %}
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

{#- Spark: `/` on integers returns a double; `div` is the exact integer division (the dividend is a multiple). -#}
{% macro spark___floor_div(expr, divisor) -%}
  (({{ expr }}) - (((({{ expr }}) % {{ divisor }}) + {{ divisor }}) % {{ divisor }})) div {{ divisor }}
{%- endmacro %}

{#- Shift a timestamp by a whole number of seconds (exact: timestamps are naive UTC). -#}
{% macro _shift_seconds(expr, seconds) %}{{ return(adapter.dispatch('_shift_seconds', 'fstore')(expr, seconds)) }}{% endmacro %}
{% macro default___shift_seconds(expr, seconds) %}{{ return(dbt.dateadd('second', seconds, expr)) }}{% endmacro %}
{#- Spark: dbt-spark's dateadd goes through to_unix_timestamp (drops microseconds, LTZ result, fails on NULL). -#}
{% macro spark___shift_seconds(expr, seconds) %}timestampadd(SECOND, {{ seconds }}, {{ expr }}){% endmacro %}

{#- The canonical feature-layer timestamp type (naive, holding UTC). -#}
{% macro _timestamp_type() %}{{ return(adapter.dispatch('_timestamp_type', 'fstore')()) }}{% endmacro %}
{% macro default___timestamp_type() %}{{ return(dbt.type_timestamp()) }}{% endmacro %}
{#- Spark: `timestamp` is TIMESTAMP_LTZ (an instant shown in the session zone) unless spark.sql.timestampType says
    otherwise; the naive type is TIMESTAMP_NTZ (Spark >= 3.4). -#}
{% macro spark___timestamp_type() %}timestamp_ntz{% endmacro %}

{#- Is a column type, as the adapter reports it, the canonical naive timestamp (fstore.is_utc_timestamp)? -#}
{% macro _is_naive_timestamp_type(data_type) %}{{ return(adapter.dispatch('_is_naive_timestamp_type', 'fstore')(data_type | lower)) }}{% endmacro %}
{% macro default___is_naive_timestamp_type(data_type) %}
  {{ return(data_type.startswith('timestamp') and 'with time zone' not in data_type and 'tz' not in data_type) }}
{% endmacro %}
{#- Spark: `timestamp` is the zoned TIMESTAMP_LTZ; only timestamp_ntz is naive. -#}
{% macro spark___is_naive_timestamp_type(data_type) %}{{ return(data_type == 'timestamp_ntz') }}{% endmacro %}

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

{#- The extra column that carries the whole label row where _star_except_rid needs it (PostgreSQL). -#}
{% macro _label_row_column(alias) %}{{ return(adapter.dispatch('_label_row_column', 'fstore')(alias)) }}{% endmacro %}
{% macro default___label_row_column(alias) %}{% endmacro %}
{% macro postgres___label_row_column(alias) %}, {{ alias }} as _fstore_label{% endmacro %}

{#- An expression that fails the query with `message` (a SQL string expression) when evaluated, typed bigint: for
    data the macros cannot compute correctly, such as a spine timestamp off its declared grid. The default casts
    the message to a number, which fails with the message quoted in the error (PostgreSQL: invalid input syntax
    for type bigint: "fstore..."); keep the message depending on a column, or the planner folds it and fails
    every query. Engines with an error function use it. -#}
{% macro _raise_error(message) %}{{ return(adapter.dispatch('_raise_error', 'fstore')(message)) }}{% endmacro %}
{% macro default___raise_error(message) %}cast({{ message }} as bigint){% endmacro %}
{% macro duckdb___raise_error(message) %}cast(error({{ message }}) as bigint){% endmacro %}
{% macro spark___raise_error(message) %}cast(raise_error({{ message }}) as bigint){% endmacro %}

{#- In a select list: one row per integer lo, lo + 1, ..., hi (both bigint expressions of the same row). -#}
{% macro _integer_series(lo, hi) %}{{ return(adapter.dispatch('_integer_series', 'fstore')(lo, hi)) }}{% endmacro %}
{% macro default___integer_series(lo, hi) %}generate_series({{ lo }}, {{ hi }}){% endmacro %}
{% macro duckdb___integer_series(lo, hi) %}unnest(generate_series({{ lo }}, {{ hi }})){% endmacro %}
{% macro spark___integer_series(lo, hi) %}explode(sequence({{ lo }}, {{ hi }})){% endmacro %}

{#- The current instant as a naive UTC timestamp (the canonical type). -#}
{% macro _current_timestamp_utc() %}{{ return(adapter.dispatch('_current_timestamp_utc', 'fstore')()) }}{% endmacro %}
{% macro default___current_timestamp_utc() %}cast(current_timestamp at time zone 'UTC' as {{ fstore._timestamp_type() }}){% endmacro %}
{#- Spark: current_timestamp() is TIMESTAMP_LTZ; convert_timezone makes the UTC wall clock a TIMESTAMP_NTZ. -#}
{% macro spark___current_timestamp_utc() %}convert_timezone('UTC', current_timestamp()){% endmacro %}

{#- The text of one top-level key of a JSON object held as text (NULL when absent or JSON null). -#}
{% macro _json_text(expr, key) %}{{ return(adapter.dispatch('_json_text', 'fstore')(expr, key)) }}{% endmacro %}
{% macro default___json_text(expr, key) %}(cast({{ expr }} as json) ->> '{{ key }}'){% endmacro %}
{% macro duckdb___json_text(expr, key) %}json_extract_string({{ expr }}, '$."{{ key }}"'){% endmacro %}
{% macro spark___json_text(expr, key) %}get_json_object({{ expr }}, '$.{{ key }}'){% endmacro %}
{#- Does a JSON object held as text have the top-level key (its value may be JSON null)? -#}
{% macro _json_has_key(expr, key) %}{{ return(adapter.dispatch('_json_has_key', 'fstore')(expr, key)) }}{% endmacro %}
{% macro default___json_has_key(expr, key) %}((cast({{ expr }} as json) -> '{{ key }}') is not null){% endmacro %}
{% macro duckdb___json_has_key(expr, key) %}(json_extract({{ expr }}, '$."{{ key }}"') is not null){% endmacro %}
{#- Spark: get_json_object cannot tell an absent key from a JSON null; the exported text is compact JSON. -#}
{% macro spark___json_has_key(expr, key) %}(instr({{ expr }}, '"{{ key }}":') > 0){% endmacro %}

{#- Shift a timestamp by a whole number of microseconds. -#}
{% macro _shift_microseconds(expr, n) %}{{ return(adapter.dispatch('_shift_microseconds', 'fstore')(expr, n)) }}{% endmacro %}
{% macro default___shift_microseconds(expr, n) %}({{ expr }} + interval '{{ n }} microsecond'){% endmacro %}
{% macro spark___shift_microseconds(expr, n) %}timestampadd(MICROSECOND, {{ n }}, {{ expr }}){% endmacro %}
