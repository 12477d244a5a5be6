{{ fstore.point_in_time_join(ref('labels_user'), ['user_id'], [
  {'relation': ref('user_stats', v=2), 'columns': ['f_int', 'f_float', 'f_dec', 'f_str', 'f_ts'],
   'ttl': '36h', 'created_timestamp': 'created_ts'}]) }}
