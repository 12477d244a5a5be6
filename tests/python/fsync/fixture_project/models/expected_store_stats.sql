{{ fstore.point_in_time_join(ref('labels_store'), ['store_id', 'country'], [
  {'relation': ref('store_stats'), 'columns': ['revenue', 'orders'], 'ttl': '12h',
   'created_timestamp': 'created_ts'}]) }}
