{#- One row per order line item: the version with the latest ingested_at (what we know today). -#}
{{ fstore.dedup_events(ref('stg_purchase_versions'), ['order_id', 'line_item_id'], 'ingested_at') }}
