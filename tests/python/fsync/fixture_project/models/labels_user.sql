select distinct user_id, cast('{{ var("as_of") }}' as timestamp) as label_ts
from (
  select user_id from {{ source('raw', 'user_rows') }}
  union all
  select user_id from {{ source('raw', 'user_rows_v2') }}
) as u
where user_id is not null
