{#- The final events as known at this run: the latest delivered version of each event. -#}
{{ config(materialized='view') }}
{{ fstore.dedup_events(source('fstore_incremental', 'event_versions'), ['event_id'], 'ingested_at') }}
