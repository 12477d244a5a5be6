{#- ref_pit with keep_label_order=true: the same rows, in the labels' order (what fsync's readers use). -#}
{{ fstore.point_in_time_join(
    labels=source('fstore_reference', 'labels'), entity_keys=['entity_id'], label_timestamp='label_ts',
    feature_views=[
      {'relation': source('fstore_reference', 'fv_a'), 'columns': ['f_int', 'f_dbl'], 'ttl': '2d',
       'created_timestamp': 'created_ts', 'prefix': 'a_'},
      {'relation': source('fstore_reference', 'fv_b'), 'columns': {'f_str': 'label_str', 'f_dec': 'dec'},
       'ttl': '6h', 'prefix': 'b_'},
      {'relation': source('fstore_reference', 'fv_b'), 'columns': ['f_dec'], 'prefix': 'c_'},
    ], keep_label_order=true) }}
