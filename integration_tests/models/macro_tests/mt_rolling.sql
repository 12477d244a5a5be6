-- Pins fstore.rolling_agg on final (deduplicated) events: every aggregation, two windows.
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
        {'name': 'orders', 'agg': 'count_distinct', 'column': 'order_id'},
    ],
    windows=['1d'],
) }}
