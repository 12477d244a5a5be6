{#- Team B's legacy purchase_count_30d: one row per customer and Pacific calendar day, counting the line-item
    rows of the 30 Pacific days before it — every delivered version of a line item, because the export was never
    deduplicated on the order key. Hand-written on purpose (fsync audit compares it with the canonical
    user_purchase_features v2). -#}
with days as (
  {{ fstore.feature_spine(ref('stg_users'), ['user_id'], "'2024-01-01'", "'2024-12-01'", step='1d',
                          timestamp_column='pacific_day') }}
),

line_items as (
  select
    user_id,
    {% if target.type == 'spark' -%}
    cast(from_utc_timestamp(ordered_at, 'America/Los_Angeles') as timestamp_ntz)
    {%- else -%}
    (ordered_at at time zone 'UTC') at time zone 'America/Los_Angeles'
    {%- endif %} as ordered_at_pacific
  from {{ ref('stg_purchase_versions') }}
  where not coalesce(cast(returned_at as date) = cast(ordered_at as date), false)
)

select
  d.user_id as customer_id,
  cast(d.pacific_day as date) as pacific_day,
  count(l.ordered_at_pacific) as purchases_30d
from days as d
left join line_items as l
  on l.user_id = d.user_id
  and l.ordered_at_pacific >= d.pacific_day - interval '30 days'
  and l.ordered_at_pacific < d.pacific_day
group by d.user_id, d.pacific_day
