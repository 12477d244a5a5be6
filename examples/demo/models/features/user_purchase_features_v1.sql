{#- user_purchase_features v1: daily purchase features per user at 00:00 UTC, from the final deduplicated
    line items (what we know today). Window [feature_ts - W, feature_ts). -#}
with spine as (
  {{ fstore.feature_spine(ref('stg_users'), ['user_id'],
                          "'" ~ var('fstore_demo_spine_start', '2024-01-01') ~ "'",
                          "'" ~ var('fstore_demo_spine_end', '2024-12-01') ~ "'", step='1d') }}
),

purchases as (
  select
    user_id,
    ordered_at,
    order_id,
    amount,
    case when amount is null then order_id end as failed_order_id
  from {{ ref('stg_purchases') }}
),

features as (
  {{ fstore.rolling_agg('spine', 'purchases', ['user_id'],
      aggregations=[
        {'name': 'purchase_count', 'agg': 'count_rows', 'windows': ['30d']},
        {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount', 'windows': ['30d']},
        {'name': 'amount_avg', 'agg': 'avg', 'column': 'amount', 'windows': ['14d']},
        {'name': 'amount_max', 'agg': 'max', 'column': 'amount', 'windows': ['30d']},
        {'name': 'order_count', 'agg': 'count_distinct', 'column': 'order_id', 'windows': ['30d']},
        {'name': 'failed_payment_count', 'agg': 'count_distinct', 'column': 'failed_order_id', 'windows': ['30d']},
      ],
      spine_timestamp='feature_ts', event_timestamp='ordered_at') }}
)

select
  cast(user_id as integer) as user_id,
  cast(feature_ts as timestamp) as feature_ts,
  cast(purchase_count_30d as bigint) as purchase_count_30d,
  cast(amount_sum_30d as numeric(38,2)) as amount_sum_30d,
  cast(amount_avg_14d as {{ fstore.type_double() }}) as amount_avg_14d,
  cast(amount_max_30d as numeric(38,2)) as amount_max_30d,
  cast(order_count_30d as bigint) as order_count_30d,
  cast(failed_payment_count_30d as bigint) as failed_payment_count_30d
from features
