-- A feature view whose test fails: fsync must refuse to publish it.
select user_id, feature_ts, f_int from {{ ref('user_stats', v=1) }}
