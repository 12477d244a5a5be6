select distinct store_id, country, cast('{{ var("as_of") }}' as timestamp) as label_ts
from {{ source('raw', 'store_rows') }}
