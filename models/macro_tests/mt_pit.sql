{{ fstore.point_in_time_join(
    labels=ref('mt_spine'), entity_keys=['user_id'], label_timestamp='feature_ts',
    feature_views=[
      {'relation': ref('mt_events'), 'columns': ['amount'], 'timestamp': 'event_ts', 'ttl': '1d', 'prefix': 'a_'},
      {'relation': ref('mt_events'), 'columns': {'amount': 'amt'}, 'timestamp': 'event_ts', 'created_timestamp': 'ingested_at', 'prefix': 'b_'},
    ]) }}
