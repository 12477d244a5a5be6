{#- NEGATIVE FIXTURE, not a training set: a hand-written join that leaks on purpose.
    It takes the purchase feature row at the END of the label's day window (the first feature_ts after label_ts,
    up to label_ts + 1 day), so the features include purchases made after the label time. Its
    fstore.no_feature_leakage test is inverted (error_if/warn_if "=0"): it passes only if the leakage test
    finds the leak, which proves the test used on the real training sets actually bites. -#}
select
  l.user_id,
  l.label_ts,
  l.label,
  f.feature_ts as purchase__feature_ts,
  f.purchase_count_30d as purchase__purchase_count_30d,
  f.amount_sum_30d as purchase__amount_sum_30d
from {{ ref('stg_churn_labels') }} as l
left join {{ ref('user_purchase_features', v=2) }} as f
  on f.user_id = l.user_id
  and f.feature_ts > l.label_ts
  and f.feature_ts <= {{ dbt.dateadd('day', 1, 'l.label_ts') }}
