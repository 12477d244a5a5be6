-- v2 drops f_bool and adds a created timestamp that breaks ties on feature_ts
select
  cast(user_id as bigint) as user_id,
  cast(feature_ts as timestamp) as feature_ts,
  cast(created_ts as timestamp) as created_ts,
  cast(f_int as bigint) as f_int,
  cast(f_float as double) as f_float,
  cast(f_dec as decimal(18, 4)) as f_dec,
  cast(f_str as varchar) as f_str,
  cast(f_ts as timestamp) as f_ts
from {{ source('raw', 'user_rows_v2') }}
