{#- The feature views of the incremental proof, each built twice from this one definition: incrementally
    (inc_*), and as a full rebuild (inc_*_full). `kind` picks rolling_agg's formulation: 'tiled' (spine_step='1d'),
    'joined' (the bucketed join, with a count_distinct) or 'known' (bitemporal: as_known_at over every version). -#}
{% macro inc_feature_view(kind) %}
  {% set start = fstore.incremental_spine_start("'2024-03-01'", lookback=var('inc_lookback', '3d'), step='1d') %}
  with spine as (
    {{ fstore.feature_spine(source('fstore_incremental', 'entities'), ['entity_id'], start,
                            "'" ~ var('inc_end', '2024-03-02') ~ "'", step='1d') }}
  )
  select * from (
    {% if kind == 'tiled' %}
    {{ fstore.rolling_agg('spine', ref('inc_events'), ['entity_id'],
        aggregations=[
          {'name': 'n', 'agg': 'count_rows', 'windows': ['1d', '7d']},
          {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount', 'windows': ['2d', '7d']},
          {'name': 'amount_avg', 'agg': 'avg', 'column': 'amount'},
          {'name': 'amount_min', 'agg': 'min', 'column': 'amount'},
          {'name': 'amount_max', 'agg': 'max', 'column': 'amount'},
        ], windows=['5d'], spine_step='1d', spine_start=start) }}
    {% elif kind == 'known' %}
    {{ fstore.rolling_agg('spine', source('fstore_incremental', 'event_versions'), ['entity_id'],
        aggregations=[
          {'name': 'n', 'agg': 'count_rows', 'windows': ['1d', '7d']},
          {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount', 'windows': ['7d']},
          {'name': 'amount_max', 'agg': 'max', 'column': 'amount', 'windows': ['4d']},
        ], as_known_at={'ingested_at': 'ingested_at', 'key': ['event_id']}, spine_start=start) }}
    {% else %}
    {{ fstore.rolling_agg('spine', ref('inc_events'), ['entity_id'],
        aggregations=[
          {'name': 'n', 'agg': 'count_rows', 'windows': ['1d', '7d']},
          {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount', 'windows': ['7d']},
          {'name': 'categories', 'agg': 'count_distinct', 'column': 'category', 'windows': ['6d']},
        ], spine_start=start) }}
    {% endif %}
  ) as f
{% endmacro %}
