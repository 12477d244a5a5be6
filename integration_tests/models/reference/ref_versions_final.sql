{{ fstore.dedup_events(source('fstore_reference', 'event_versions'), ['order_id', 'line_item_id'], 'ingested_at') }}
