-- Bitemporal ON: at each spine time only versions ingested by then count, and the latest of those wins.
{{ fstore.rolling_agg(
    spine=ref('mt_spine_rows'),
    events=ref('mt_versions'),
    entity_keys=['user_id'],
    aggregations=[
        {'name': 'n_rows', 'agg': 'count_rows'},
        {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount'},
    ],
    windows=['1d'],
    as_known_at={'ingested_at': 'ingested_at', 'key': ['order_id', 'line_item_id']},
) }}
