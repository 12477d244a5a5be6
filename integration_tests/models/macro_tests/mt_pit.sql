-- Pins fstore.point_in_time_join: view A has a 1-day TTL and created_ts tie-breaking, view B has no TTL.
{{ fstore.point_in_time_join(
    labels=ref('mt_labels'),
    entity_keys=['user_id'],
    label_timestamp='label_ts',
    feature_views=[
        {'relation': ref('mt_fv_a'), 'columns': ['score'], 'ttl': '1d', 'prefix': 'a__',
         'created_timestamp': 'created_ts'},
        {'relation': ref('mt_fv_b'), 'columns': {'plan': 'plan_name'}, 'prefix': 'b__'},
    ],
) }}
