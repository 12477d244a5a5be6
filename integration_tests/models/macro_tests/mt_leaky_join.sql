{#- NEGATIVE FIXTURE: a hand-written join that leaks on purpose. Each label takes the first mt_fv_a row AFTER
    its label_ts (up to one day later), i.e. features computed from the future. Its fstore.no_feature_leakage test
    is inverted (error_if/warn_if "=0"): it passes only if the leakage test finds the leak, which proves the test
    used on real training sets actually bites. -#}
select
  l.user_id,
  l.label_ts,
  l.label,
  f.feature_ts as a__feature_ts,
  f.score as a__score
from {{ ref('mt_labels') }} as l
left join {{ ref('mt_fv_a') }} as f
  on f.user_id = l.user_id
  and f.feature_ts > l.label_ts
  and f.feature_ts <= {{ fstore._shift_seconds('l.label_ts', 86400) }}
