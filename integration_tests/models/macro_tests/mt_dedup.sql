-- Pins fstore.dedup_events: one row per (order_id, line_item_id), the latest ingested_at wins.
{{ fstore.dedup_events(ref('mt_versions'), ['order_id', 'line_item_id'], 'ingested_at') }}
