{{ fstore.rolling_agg(
    spine=source('fstore_reference', 'spine'), events=ref('ref_versions_final'),
    entity_keys=['entity_id'], spine_timestamp='ts', event_timestamp='event_ts', spine_columns=['spine_id'],
    aggregations=[
      {'name': 'n_rows', 'agg': 'count_rows'},
      {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount'},
      {'name': 'amount_max', 'agg': 'max', 'column': 'amount'},
      {'name': 'orders', 'agg': 'count_distinct', 'column': 'order_id'},
    ],
    windows=['1d', '7d']) }}
