{#- user_purchase_features v2: the v1 features, except that
    - line items returned on the same UTC day as they were ordered do not count, and
    - the features are bitemporal: at feature_ts only the line-item versions ingested by then count, the latest
      one per (order_id, line_item_id) (docs/semantics.md, "Late data"). A return that arrives later is a later
      version: until it is ingested the item still counts, as it did in the data we had at the time.
    Excluded versions are kept as versions (their values are NULL) rather than filtered out, so a later
    "returned" version still supersedes the earlier "not returned" one. -#}
with spine as (
  {{ fstore.feature_spine(ref('stg_users'), ['user_id'],
                          "'" ~ var('fstore_demo_spine_start', '2024-01-01') ~ "'",
                          "'" ~ var('fstore_demo_spine_end', '2024-12-01') ~ "'", step='1d') }}
),

versions as (
  select
    user_id,
    order_id,
    line_item_id,
    ordered_at,
    ingested_at,
    case when returned_same_day then null else 1 end as kept_line_item,
    case when returned_same_day then null else amount end as kept_amount,
    case when returned_same_day then null else order_id end as kept_order_id,
    case when returned_same_day or amount is not null then null else order_id end as failed_order_id
  from (
    select
      *,
      coalesce(cast(returned_at as date) = cast(ordered_at as date), false) as returned_same_day
    from {{ ref('stg_purchase_versions') }}
  ) as v
),

features as (
  {{ fstore.rolling_agg('spine', 'versions', ['user_id'],
      aggregations=[
        {'name': 'purchase_count', 'agg': 'count', 'column': 'kept_line_item', 'windows': ['30d']},
        {'name': 'amount_sum', 'agg': 'sum', 'column': 'kept_amount', 'windows': ['30d']},
        {'name': 'amount_avg', 'agg': 'avg', 'column': 'kept_amount', 'windows': ['14d']},
        {'name': 'amount_max', 'agg': 'max', 'column': 'kept_amount', 'windows': ['30d']},
        {'name': 'order_count', 'agg': 'count_distinct', 'column': 'kept_order_id', 'windows': ['30d']},
        {'name': 'failed_payment_count', 'agg': 'count_distinct', 'column': 'failed_order_id', 'windows': ['30d']},
      ],
      spine_timestamp='feature_ts', event_timestamp='ordered_at',
      as_known_at={'ingested_at': 'ingested_at', 'key': ['order_id', 'line_item_id']}) }}
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
