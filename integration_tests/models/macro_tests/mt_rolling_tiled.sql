-- Pins the tiled formulation of fstore.rolling_agg (spine_step='1d': the spine is on the daily grid) with the
-- same unit tests as mt_rolling, every aggregation the tiles support.
{{ fstore.rolling_agg(
    spine=ref('mt_spine_rows'),
    events=ref('mt_events'),
    entity_keys=['user_id'],
    aggregations=[
        {'name': 'n_rows', 'agg': 'count_rows', 'windows': ['1d', '2d']},
        {'name': 'n_amount', 'agg': 'count', 'column': 'amount'},
        {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount'},
        {'name': 'amount_avg', 'agg': 'avg', 'column': 'amount'},
        {'name': 'amount_min', 'agg': 'min', 'column': 'amount'},
        {'name': 'amount_max', 'agg': 'max', 'column': 'amount'},
    ],
    windows=['1d'],
    spine_step='1d',
) }}
