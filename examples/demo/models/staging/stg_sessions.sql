{#- One row per session: the version with the latest ingested_at. -#}
{{ fstore.dedup_events(ref('stg_session_versions'), ['session_id'], 'ingested_at') }}
