{#- Fraud training set: every row of stg_fraud_labels (order and duplicates kept), with the purchase features
    (user_purchase_features v1) and session features each view held at label_ts: the latest row with
    feature_ts <= label_ts, no older than the view's TTL (docs/semantics.md section 4). fstore.feature_view reads
    each view's timestamp, keys and TTL from its meta.feature_view, so they are declared exactly once. -#}
{{ fstore.point_in_time_join(
    labels=ref('stg_fraud_labels'),
    entity_keys=['user_id'],
    label_timestamp='label_ts',
    feature_views=[
      fstore.feature_view('user_purchase_features', version=1, prefix='purchase__',
        columns=['purchase_count_30d', 'amount_sum_30d', 'amount_avg_14d', 'amount_max_30d',
                 'order_count_30d', 'failed_payment_count_30d']),
      fstore.feature_view('user_session_features', prefix='session__',
        columns=['session_count_7d', 'session_count_28d', 'session_seconds_sum_7d',
                 'session_seconds_avg_7d', 'session_seconds_max_7d']),
    ]) }}
