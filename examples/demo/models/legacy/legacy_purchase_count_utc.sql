{#- Team A's legacy purchase_count_30d, as it was written before the feature warehouse: a UTC rolling window
    [day - 30 days, day) at 00:00 UTC over the order lines deduplicated on (order_id, line_item_id) — today's
    data, not the data known at the time. Hand-written on purpose (fsync audit compares it with the canonical
    user_purchase_features v2); the grid comes from fstore.feature_spine only to list the (user, day) rows. -#}
with days as (
  {{ fstore.feature_spine(ref('stg_users'), ['user_id'], "'2024-01-01'", "'2024-12-01'", step='1d',
                          timestamp_column='as_of') }}
),

lines as (
  select user_id, ordered_at
  from {{ ref('stg_purchases') }}
  where not coalesce(cast(returned_at as date) = cast(ordered_at as date), false)
)

select
  d.user_id,
  d.as_of,
  count(l.ordered_at) as purchase_count_30d
from days as d
left join lines as l
  on l.user_id = d.user_id
  and l.ordered_at >= d.as_of - interval '30 days'
  and l.ordered_at < d.as_of
group by d.user_id, d.as_of
