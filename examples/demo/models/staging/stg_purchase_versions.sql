{#- Every distinct version of every order line item, timestamps normalised to naive UTC.
    Exact duplicate deliveries collapse here; versions that differ are all kept (the bitemporal
    user_purchase_features v2 needs them). Raw text without an offset is a Los Angeles wall time. -#}
select distinct
  order_id,
  line_item_id,
  user_id,
  {{ fstore.to_utc("nullif(ordered_at, '')", 'America/Los_Angeles') }} as ordered_at,
  amount,
  {{ fstore.to_utc("nullif(returned_at, '')", 'America/Los_Angeles') }} as returned_at,
  {{ fstore.to_utc("nullif(ingested_at, '')", 'America/Los_Angeles') }} as ingested_at
from {{ ref('raw_purchases') }}
