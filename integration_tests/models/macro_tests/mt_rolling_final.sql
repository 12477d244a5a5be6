-- Bitemporal OFF: deduplicate to the final versions first, then aggregate (what we know today).
-- Also pins the documented composition pattern: a macro's SELECT nested as a subquery after your own CTEs.
with final_events as (
    {{ fstore.dedup_events(ref('mt_versions'), ['order_id', 'line_item_id'], 'ingested_at') }}
)

select * from (
    {{ fstore.rolling_agg(
        spine=ref('mt_spine_rows'),
        events='final_events',
        entity_keys=['user_id'],
        aggregations=[
            {'name': 'n_rows', 'agg': 'count_rows'},
            {'name': 'amount_sum', 'agg': 'sum', 'column': 'amount'},
        ],
        windows=['1d'],
    ) }}
) as features
