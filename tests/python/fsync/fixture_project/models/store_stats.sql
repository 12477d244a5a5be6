select
  cast(store_id as varchar) as store_id,
  cast(country as varchar) as country,
  cast(feature_ts as timestamp) as feature_ts,
  cast(created_ts as timestamp) as created_ts,
  cast(revenue as double) as revenue,
  cast(orders as integer) as orders
from {{ source('raw', 'store_rows') }}
