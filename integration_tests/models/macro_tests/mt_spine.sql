-- Pins fstore.feature_spine: every entity x a daily 00:00 UTC grid, both ends inclusive (across the US DST change).
{{ fstore.feature_spine(ref('mt_entities'), ['user_id'], "'2024-03-09'", "'2024-03-12'", step='1d') }}
