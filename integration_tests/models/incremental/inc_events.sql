{#- The final events as known at this run: the latest delivered version of each event. -#}
{#- A table, not a view: the test replaces the source tables before every run. -#}
{{ config(materialized='table') }}
{{ fstore.dedup_events(source('fstore_incremental', 'event_versions'), ['event_id'], 'ingested_at') }}
