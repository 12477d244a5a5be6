{#- Warns, then fails, as `dbt source freshness` does, when a feature view's newest timestamp at or before the
    as-of instant is older than its freshness SLA: warn from 80 % of the SLA, error past it (or when there is no
    row at all). The timestamp column and the SLA come from the model's meta.feature_view unless given; the
    as-of is the argument, else the var `fstore_freshness_as_of`, else the current UTC time. Rows after the
    as-of do not count (they were not known yet). The same rule as `fsync freshness` (fsync/online/freshness.py).
    One result row when stale: newest_ts, as_of, age_seconds, sla_seconds and freshness_level (1 warn, 2 error);
    `fail_calc` is that level, so `severity: warn` still only warns. -#}
{% test freshness_within_sla(model, timestamp=none, freshness_sla=none, as_of=none) %}
  {% set m = 'freshness_within_sla' %}
  {{ config(fail_calc='coalesce(max(freshness_level), 0)', warn_if='>= 1', error_if='>= 2') }}
  {% set spec = fstore._freshness_spec(model, timestamp, freshness_sla, m) %}
  {% set as_of_value = as_of if as_of is not none else var('fstore_freshness_as_of', none) %}
  {% if as_of_value is none %}
    {% set now = fstore._current_timestamp_utc() %}
  {% else %}
    {% set now = "cast('" ~ (as_of_value | string | replace("'", "''")) ~ "' as " ~ fstore._timestamp_type() ~ ")" %}
  {% endif %}
  {% set ts = adapter.quote(spec.timestamp) %}
  with newest as (
    select max({{ ts }}) as newest_ts, {{ now }} as as_of from {{ model }} where {{ ts }} <= {{ now }}
  ),
  aged as (
    select newest_ts, as_of, {{ fstore._epoch_us('as_of') }} - {{ fstore._epoch_us('newest_ts') }} as age_us
    from newest
  )
  select
    newest_ts,
    as_of,
    age_us / 1000000 as age_seconds,
    {{ spec.sla_seconds }} as sla_seconds,
    case when newest_ts is null or age_us > {{ spec.sla_seconds * 1000000 }} then 2 else 1 end as freshness_level
  from aged
  where newest_ts is null or age_us >= {{ spec.sla_seconds * 800000 }}
{% endtest %}
