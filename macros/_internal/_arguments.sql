{#- Argument helpers shared by the public macros: compile errors that name the macro, the argument and the fix.
    Private (leading underscore): not part of the public API, may change between releases. -#}

{% macro _fail(macro_name, message) %}
  {{ exceptions.raise_compiler_error("fstore." ~ macro_name ~ ": " ~ message) }}
{% endmacro %}

{#- The one duration grammar (docs/semantics.md section 1, and fsync's `parse_duration`): a positive integer
    without leading zeros, then d, h, m or s. Returns none when `value` is not such a duration. -#}
{% macro _duration_seconds(value) %}
  {% set match = modules.re.fullmatch('([1-9][0-9]*)([dhms])', value) if value is string else none %}
  {% do return((match.group(1) | int) * {'d': 86400, 'h': 3600, 'm': 60, 's': 1}[match.group(2)] if match else none) %}
{% endmacro %}

{#- Parse a duration argument into {'seconds': int, 'label': str}, or fail naming the argument. -#}
{% macro _parse_duration(value, arg_name, macro_name) %}
  {% set seconds = fstore._duration_seconds(value) %}
  {% if seconds is none %}
    {{ fstore._fail(macro_name, "argument `" ~ arg_name ~ "` is " ~ (value | tojson)
       ~ "; write a positive duration as <integer><unit> with unit d, h, m or s, e.g. '30d', '12h', '90m'"
       ~ " (no leading zeros; calendar units such as '30 days' or '1 month' are not exact durations).") }}
  {% endif %}
  {% do return({'seconds': seconds, 'label': value}) %}
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
    Unit tests (inputs named __dbt__cte__*) and CTE names are skipped: there the input is a fixture whose columns
    dbt already checks (and Spark fails to describe a CTE name instead of returning no columns). -#}
{% macro _require_columns(relation, columns, arg_name, macro_name) %}
  {% if execute and relation is not string and relation.identifier is defined
        and not (relation.identifier | string).startswith('__dbt__cte__') %}
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
