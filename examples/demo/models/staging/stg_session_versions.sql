{#- Every distinct version of every session, timestamps normalised to naive UTC (naive text = Los Angeles). -#}
select distinct
  session_id,
  user_id,
  {{ fstore.to_utc("nullif(started_at, '')", 'America/Los_Angeles') }} as started_at,
  duration_seconds,
  {{ fstore.to_utc("nullif(ingested_at, '')", 'America/Los_Angeles') }} as ingested_at
from {{ ref('raw_sessions') }}
