{#- The bucketed join on the same hourly grid spine as ref_rolling_tiled (no spine_step): the reference pins
    both formulations on the same rows. -#}
{{ fstore.rolling_agg(
    spine=source('fstore_reference', 'grid_spine'), events=source('fstore_reference', 'events'),
    entity_keys=['entity_id'], spine_timestamp='ts', event_timestamp='event_ts', spine_columns=['spine_id'],
    aggregations=[
      {'name': 'n_rows', 'agg': 'count_rows'},
      {'name': 'n_amount', 'agg': 'count', 'column': 'amount'},
      {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount'},
      {'name': 'amount_avg', 'agg': 'avg', 'column': 'amount'},
      {'name': 'amount_min', 'agg': 'min', 'column': 'amount'},
      {'name': 'amount_max', 'agg': 'max', 'column': 'amount'},
      {'name': 'score_sum', 'agg': 'sum', 'column': 'score', 'windows': ['1d', '30d']},
      {'name': 'score_avg', 'agg': 'avg', 'column': 'score'},
      {'name': 'score_min', 'agg': 'min', 'column': 'score'},
      {'name': 'score_max', 'agg': 'max', 'column': 'score'},
    ],
    windows=['1h', '1d', '7d', '30d']) }}
