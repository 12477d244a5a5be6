select
  cast(user_id as bigint) as user_id,
  cast(feature_ts as timestamp) as feature_ts,
  cast(f_int as bigint) as f_int,
  cast(f_float as double) as f_float,
  cast(f_dec as decimal(18, 4)) as f_dec,
  cast(f_bool as boolean) as f_bool,
  cast(f_str as varchar) as f_str,
  cast(f_ts as timestamp) as f_ts
from {{ source('raw', 'user_rows') }}
