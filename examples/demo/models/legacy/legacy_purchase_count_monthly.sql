{#- Team C's legacy purchase count: the purchases of the calendar month so far, computed by a nightly job at
    00:00 UTC and served from a cache all day. The rows are what it served when the churn labels were taken
    (user, served_at): the value of the midnight before served_at. Today's deduplicated data. Hand-written on
    purpose (fsync audit compares it with the canonical user_purchase_features v2). -#}
with served as (
  select distinct user_id, label_ts as served_at, cast(cast(label_ts as date) as timestamp) as cached_at
  from {{ ref('stg_churn_labels') }}
  where user_id is not null and label_ts is not null
),

lines as (
  select user_id, ordered_at
  from {{ ref('stg_purchases') }}
  where not coalesce(cast(returned_at as date) = cast(ordered_at as date), false)
)

select
  s.user_id,
  s.served_at,
  count(l.ordered_at) as purchases_this_month
from served as s
left join lines as l
  on l.user_id = s.user_id
  and l.ordered_at >= {{ dbt.date_trunc('month', 's.cached_at') }}
  and l.ordered_at < s.cached_at
group by s.user_id, s.served_at
