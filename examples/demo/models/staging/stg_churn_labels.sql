{#- Churn labels with label_ts as naive UTC (the raw text is UTC: 'Z' or naive).
    Label rows are kept as they are, duplicates included: a training set has one row per label row. -#}
select
  user_id,
  {{ fstore.to_utc("nullif(label_ts, '')", 'UTC') }} as label_ts,
  label
from {{ ref('churn_labels') }}
