{#- Daily web-session features per user at 00:00 UTC, from the final deduplicated sessions.
    A session counts on its start time; window [feature_ts - W, feature_ts). The spine is the daily grid from
    midnight, so rolling_agg computes the windows from daily tiles (spine_step='1d'). -#}
with spine as (
  {{ fstore.feature_spine(ref('stg_users'), ['user_id'],
                          "'" ~ var('fstore_demo_spine_start', '2024-01-01') ~ "'",
                          "'" ~ var('fstore_demo_spine_end', '2024-12-01') ~ "'", step='1d') }}
),

features as (
  {{ fstore.rolling_agg('spine', ref('stg_sessions'), ['user_id'],
      aggregations=[
        {'name': 'session_count', 'agg': 'count_rows', 'windows': ['7d', '28d']},
        {'name': 'session_seconds_sum', 'agg': 'sum', 'column': 'duration_seconds', 'windows': ['7d']},
        {'name': 'session_seconds_avg', 'agg': 'avg', 'column': 'duration_seconds', 'windows': ['7d']},
        {'name': 'session_seconds_max', 'agg': 'max', 'column': 'duration_seconds', 'windows': ['7d']},
      ],
      spine_timestamp='feature_ts', event_timestamp='started_at', spine_step='1d') }}
)

select
  cast(user_id as integer) as user_id,
  cast(feature_ts as timestamp) as feature_ts,
  cast(session_count_7d as bigint) as session_count_7d,
  cast(session_count_28d as bigint) as session_count_28d,
  cast(session_seconds_sum_7d as bigint) as session_seconds_sum_7d,
  cast(session_seconds_avg_7d as {{ fstore.type_double() }}) as session_seconds_avg_7d,
  cast(session_seconds_max_7d as integer) as session_seconds_max_7d
from features
