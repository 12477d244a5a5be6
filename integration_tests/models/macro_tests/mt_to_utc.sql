-- Pins fstore.to_utc: raw text timestamps declared as America/Los_Angeles wall time unless they carry an offset.
select
    raw_ts,
    {{ fstore.to_utc('raw_ts', 'America/Los_Angeles') }} as ts_utc
from {{ ref('mt_raw_times') }}
