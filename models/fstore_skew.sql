{#- fstore_skew: online/offline skew in SQL, the report of `fsync skew` as a model. Disabled unless the project sets
    `vars: {fstore_skew_enabled: true}` (the package gives a consumer no models by default).

    Reads the served-value log that `fsync logs export --to-warehouse` writes (the source named by the vars
    `fstore_served_log_source` / `fstore_served_log_table`, default `fsync.fsync_served_values`), recomputes each
    logged read of every online feature view with fstore.point_in_time_join as of the read's instant
    (`served_now`) with the view's TTL, and returns one row per (view, feature): rows, compared, matches,
    missing, extra, exact_match_rate, mean_abs_diff, mean_rel_diff (a served read counts for the features it
    asked for, an unserved one for every feature the log holds for the view). Values compare by type: numbers as doubles,
    booleans, timestamps and dates as such, anything else as text. Composite keys are split on `|` (a key part
    holding `|` or `\` is not supported here; `fsync skew` handles it). -#}
{{ config(enabled=var('fstore_skew_enabled', false), materialized='table') }}
{%- set log = source(var('fstore_served_log_source', 'fsync'), var('fstore_served_log_table', 'fsync_served_values')) -%}
{%- set reports = [] -%}
{%- if execute -%}
  {%- for node in graph.nodes.values() if node.resource_type == 'model' and (node.config.meta or {}).get('feature_view') -%}
    {%- set spec = fstore._feature_view_spec(node, 'fstore_skew') -%}
    {%- if spec.online -%}
      {%- set system = (spec.entity_keys + [spec.timestamp] + ([spec.created_timestamp] if spec.created_timestamp else [])) | map('lower') | list -%}
      {%- set features = [] -%}
      {%- for name, col in node.columns.items() if name | lower not in system -%}
        {%- do features.append({'name': col.name, 'type': (col.data_type or '') | lower}) -%}
      {%- endfor -%}
      {%- if features -%}{%- do reports.append({'node': node, 'spec': spec, 'features': features}) -%}{%- endif -%}
    {%- endif -%}
  {%- endfor -%}
{%- endif -%}
{%- if reports | length == 0 %}
select
  cast(null as {{ dbt.type_string() }}) as view_label, cast(null as {{ dbt.type_string() }}) as feature,
  cast(0 as {{ dbt.type_bigint() }}) as n_rows, cast(0 as {{ dbt.type_bigint() }}) as compared,
  cast(0 as {{ dbt.type_bigint() }}) as matches, cast(0 as {{ dbt.type_bigint() }}) as missing,
  cast(0 as {{ dbt.type_bigint() }}) as extra, cast(null as {{ fstore.type_double() }}) as exact_match_rate,
  cast(null as {{ fstore.type_double() }}) as mean_abs_diff, cast(null as {{ fstore.type_double() }}) as mean_rel_diff
where 1 = 0
{%- endif %}
{%- set ns = namespace(first=true) %}
{%- for r in reports %}
  {%- set node, spec = r.node, r.spec %}
  {%- set label = fstore._model_label(node) %}
  {%- set keys = spec.entity_keys %}
  {%- set labels -%}
    (select
      {%- for k in keys %}
      {% set part = '_l.entity_key' if keys | length == 1 else dbt.split_part('_l.entity_key', "'|'", loop.index) -%}
      cast({{ part }} as {{ node.columns.get(k, {}).get('data_type') or dbt.type_string() }}) as {{ adapter.quote(k) }},
      {%- endfor %}
      _l.served_now as _fstore_served_now, _l.status as _fstore_status, _l.feature_values as _fstore_values
    from {{ log }} as _l
    where _l.view = '{{ node.name }}' and {{ "_l.version = " ~ node.version if node.version is not none else "_l.version is null" }})
  {%- endset %}
  {#- The view's relation from the graph, not ref(): the views are found at execution time, when dbt can no
      longer record a dependency (run the report after the views are built). -#}
  {%- set entry = {'relation': api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias or node.name),
                   'columns': r.features | map(attribute='name') | list, 'prefix': '_fstore_x__', 'ttl': spec.ttl,
                   'timestamp': spec.timestamp, 'entity_keys': keys} %}
  {%- if spec.created_timestamp is not none %}{% do entry.update({'created_timestamp': spec.created_timestamp}) %}{% endif %}
  {%- set joined = fstore.point_in_time_join(labels=labels, entity_keys=keys, label_timestamp='_fstore_served_now',
        feature_views=[entry]) %}
  {%- for f in r.features %}
    {%- set served_text = fstore._json_text('_fstore_values', f.name) %}
    {%- set expected = '_fstore_x__' ~ f.name %}
    {%- set numeric = modules.re.match('(big|small|tiny)?int|integer|numeric|decimal|double|float|real|number', f.type) %}
    {%- if numeric %}
      {%- set served, want = 'cast(' ~ served_text ~ ' as ' ~ fstore.type_double() ~ ')', 'cast(' ~ expected ~ ' as ' ~ fstore.type_double() ~ ')' %}
    {%- elif f.type.startswith('bool') %}
      {%- set served, want = 'cast(' ~ served_text ~ ' as boolean)', expected %}
    {%- elif f.type.startswith('timestamp') %}
      {%- set served, want = 'cast(' ~ served_text ~ ' as ' ~ fstore._timestamp_type() ~ ')', expected %}
    {%- elif f.type == 'date' %}
      {%- set served, want = 'cast(' ~ served_text ~ ' as date)', expected %}
    {%- else %}
      {%- set served, want = served_text, 'cast(' ~ expected ~ ' as ' ~ dbt.type_string() ~ ')' %}
    {%- endif %}
    {%- set is_served = "_fstore_status in ('present', 'null')" %}
    {%- set has_expected = '_fstore_x__' ~ spec.timestamp ~ ' is not null' %}
{{ '' if ns.first else 'union all' }}{% set ns.first = false %}
{# per logged read: served (s), asked for this feature (k), the join has a row (e), equal (q), differences #}
select
  '{{ label }}' as view_label,
  '{{ f.name }}' as feature,
  sum(case when s = 0 or k = 1 then 1 else 0 end) as n_rows,
  sum(case when s = 1 and k = 1 and e = 1 then 1 else 0 end) as compared,
  sum(case when s = 1 and k = 1 and e = 1 and q = 1 then 1 else 0 end) as matches,
  sum(case when s = 0 and e = 1 then 1 else 0 end) as missing,
  sum(case when s = 1 and k = 1 and e = 0 then 1 else 0 end) as extra,
  cast(sum(case when (s = 1 and k = 1 and e = 1 and q = 1) or (s = 0 and e = 0) then 1 else 0 end) as {{ fstore.type_double() }})
    / sum(case when s = 0 or k = 1 then 1 else 0 end) as exact_match_rate,
  avg(case when s = 1 and k = 1 and e = 1 then abs_diff end) as mean_abs_diff,
  avg(case when s = 1 and k = 1 and e = 1 then rel_diff end) as mean_rel_diff
from (
  select
    case when {{ is_served }} then 1 else 0 end as s,
    case when {{ fstore._json_has_key('_fstore_values', f.name) }} then 1 else 0 end as k,
    case when {{ has_expected }} then 1 else 0 end as e,
    case when ({{ served }} is null and {{ want }} is null) or {{ served }} = {{ want }} then 1 else 0 end as q,
    {%- if numeric %}
    abs({{ served }} - {{ want }}) as abs_diff,
    case when {{ want }} <> 0 then abs({{ served }} - {{ want }}) / abs({{ want }}) end as rel_diff
    {%- else %}
    cast(null as {{ fstore.type_double() }}) as abs_diff,
    cast(null as {{ fstore.type_double() }}) as rel_diff
    {%- endif %}
  from ({{ joined }}) as _fstore_j
) as _fstore_c
{# the features the log holds (some served read asked for them), as fsync skew reports them #}
having sum(s) = 0 or sum(s * k) > 0
  {%- endfor %}
{%- endfor %}
