{#- Incremental: each run recomputes the spine from the last stored day minus the look-back. -#}
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['entity_id', 'feature_ts']) }}
{{ inc_feature_view('joined') }}
