{#-
  to_utc(column, source_time_zone='UTC')

  Normalise a raw timestamp (a string or a typed timestamp/date column) to the feature layer's canonical form: a
  naive `timestamp` holding the UTC instant. An explicit offset in the value (Z, +05, +0530, +05:30) wins; a naive
  value is a wall time in `source_time_zone` (DST overlap -> standard time, DST gap -> shifted forward by the gap).
-#}
{% macro to_utc(column, source_time_zone='UTC') %}
  {% if column is none or (column is string and column | trim == '') %}
    {{ fstore._fail('to_utc', "argument `column` is missing; pass the column or SQL expression to convert, e.g. to_utc('ordered_at', 'America/Los_Angeles').") }}
  {% endif %}
  {% if source_time_zone is not string or source_time_zone not in modules.pytz.all_timezones %}
    {{ fstore._fail('to_utc', "argument `source_time_zone` is " ~ (source_time_zone | tojson)
       ~ ", which is not an IANA time zone name; use e.g. 'UTC' or 'America/Los_Angeles'.") }}
  {% endif %}
  {{ return(adapter.dispatch('to_utc', 'fstore')(column, source_time_zone)) }}
{% endmacro %}

{% macro default__to_utc(column, source_time_zone) -%}
  {%- set text = "cast(" ~ column ~ " as " ~ dbt.type_string() ~ ")" -%}
  cast(case
    when {{ column }} is null then null
    when {{ fstore._has_utc_offset(text) }}
      then cast({{ text }} as timestamp with time zone) at time zone 'UTC'
    else (cast({{ text }} as timestamp) at time zone '{{ source_time_zone }}') at time zone 'UTC'
  end as {{ fstore._timestamp_type() }})
{%- endmacro %}

{#- Spark has no `at time zone`, and to_utc_timestamp resolves a DST overlap to the earlier instant (daylight time):
    take the later interpretation when the wall time also maps to it (standard time, docs/semantics.md section 1). -#}
{% macro spark__to_utc(column, source_time_zone) -%}
  {%- set text = "cast(" ~ column ~ " as string)" -%}
  {%- set wall = "cast(" ~ text ~ " as timestamp_ntz)" -%}
  {%- if source_time_zone == 'UTC' -%}
    {%- set naive = wall -%}
  {%- else -%}
    {%- set tz = "'" ~ source_time_zone ~ "'" -%}
    {#- earlier: Java's resolution (overlap -> earlier instant, gap -> moved forward by the gap). later: the same wall
        time read with the offset in force 3 hours after `earlier`, valid only when it maps back to the wall time. -#}
    {%- set earlier = "cast(to_utc_timestamp(" ~ wall ~ ", " ~ tz ~ ") as timestamp_ntz)" -%}
    {%- set probe = "timestampadd(HOUR, 3, " ~ earlier ~ ")" -%}
    {%- set later = "(" ~ wall ~ " - (cast(from_utc_timestamp(" ~ probe ~ ", " ~ tz ~ ") as timestamp_ntz) - " ~ probe ~ "))" -%}
    {%- set naive -%}
      case
        when {{ later }} > {{ earlier }}
          and cast(from_utc_timestamp({{ later }}, {{ tz }}) as timestamp_ntz) = {{ wall }}
          then {{ later }}
        else {{ earlier }}
      end
    {%- endset -%}
  {%- endif -%}
  {#- A TIMESTAMP_LTZ value is an instant (its text has no offset): it converts as such. Spark parses `Z`, not `z`. -#}
  cast(case
    when {{ column }} is null then null
    when typeof({{ column }}) = 'timestamp' then cast({{ column }} as timestamp_ntz)
    when {{ fstore._has_utc_offset(text) }}
      then cast(cast(upper({{ text }}) as timestamp_ltz) as timestamp_ntz)
    else {{ naive }}
  end as {{ fstore._timestamp_type() }})
{%- endmacro %}
