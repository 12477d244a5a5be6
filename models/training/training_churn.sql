{#- Churn training set: every row of stg_churn_labels (order and duplicates kept), with the purchase features
    (user_purchase_features v2) and session features each view held at label_ts: the latest row with
    feature_ts <= label_ts, no older than the view's TTL (docs/semantics.md section 4).
    The TTLs are read from each view's meta.feature_view.ttl so the training set ages features out exactly as
    online serving does. -#}
{%- set ttl = {'user_purchase_features': '2d', 'user_session_features': '2d'} %}
{%- if execute %}
  {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.name in ttl %}
    {%- if node.version is none or node.version | string == '2' %}
      {%- do ttl.update({node.name: node.config.meta.feature_view.ttl}) %}
    {%- endif %}
  {%- endfor %}
{%- endif %}

{{ fstore.point_in_time_join(
    labels=ref('stg_churn_labels'),
    entity_keys=['user_id'],
    label_timestamp='label_ts',
    feature_views=[
      {'relation': ref('user_purchase_features', v=2),
       'columns': ['purchase_count_30d', 'amount_sum_30d', 'amount_avg_14d', 'amount_max_30d',
                   'order_count_30d', 'failed_payment_count_30d'],
       'ttl': ttl['user_purchase_features'],
       'prefix': 'purchase__'},
      {'relation': ref('user_session_features'),
       'columns': ['session_count_7d', 'session_count_28d', 'session_seconds_sum_7d',
                   'session_seconds_avg_7d', 'session_seconds_max_7d'],
       'ttl': ttl['user_session_features'],
       'prefix': 'session__'},
    ]) }}
