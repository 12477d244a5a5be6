{#- The feature-view spec: `config.meta.feature_view` of a model, validated once, the same way fsync validates it
    (fsync/manifest/spec.py; tests/python/test_spec_agreement.py proves the two accept and reject the same metas).

    Required: entity_keys, timestamp, ttl, freshness_sla, owner, online. Optional: created_timestamp, tags.
    Durations: a positive integer without leading zeros and a unit d, h, m or s. -#}

{% macro _feature_view_keys() %}
  {% do return({'required': ['entity_keys', 'timestamp', 'ttl', 'freshness_sla', 'owner', 'online'],
                'optional': ['created_timestamp', 'tags']}) %}
{% endmacro %}

{% macro _feature_view_examples() %}
  {% do return({'entity_keys': 'entity_keys: [user_id]', 'timestamp': 'timestamp: feature_ts', 'ttl': 'ttl: 2d',
                'freshness_sla': 'freshness_sla: 26h', 'owner': 'owner: team@example.com', 'online': 'online: true',
                'created_timestamp': 'created_timestamp: created_ts', 'tags': 'tags: [purchases]'}) %}
{% endmacro %}

{#- `name` or `name@N`: the canonical display of a model version, as fsync prints it. -#}
{% macro _model_label(node) %}
  {% do return(node.name ~ ('@' ~ node.version if node.version is not none else '')) %}
{% endmacro %}

{#- Levenshtein distance of two short texts (for "did you mean"). -#}
{% macro _edit_distance(a, b) %}
  {% set ns = namespace(prev=range(b | length + 1) | list) %}
  {% for i in range(1, a | length + 1) %}
    {% set cur = [i] %}
    {% for j in range(1, b | length + 1) %}
      {% do cur.append([ns.prev[j] + 1, cur[j - 1] + 1, ns.prev[j - 1] + (0 if a[i - 1] == b[j - 1] else 1)] | min) %}
    {% endfor %}
    {% set ns.prev = cur %}
  {% endfor %}
  {% do return(ns.prev[-1]) %}
{% endmacro %}

{#- The known key closest to an unknown one (edit distance at most 2, first in declaration order on ties), or none. -#}
{% macro _closest_key(key, known) %}
  {% set ns = namespace(best=none, distance=3) %}
  {% for k in known %}
    {% set d = fstore._edit_distance(key | string, k) %}
    {% if d < ns.distance %}{% set ns.best = k %}{% set ns.distance = d %}{% endif %}
  {% endfor %}
  {% do return(ns.best) %}
{% endmacro %}

{#- dbt appends a version's meta lists to the model's: drop the repeats, keep the order. -#}
{% macro _unique_list(values) %}
  {% set out = [] %}
  {% for v in values %}{% if v not in out %}{% do out.append(v) %}{% endif %}{% endfor %}
  {% do return(out) %}
{% endmacro %}

{% macro _is_list(value) %}
  {% do return(value is iterable and value is not string and value is not mapping) %}
{% endmacro %}

{#- Every problem of a node's meta.feature_view: a list of {'key', 'message', 'fix'}, empty when the spec is valid. -#}
{% macro _feature_view_problems(node) %}
  {% set problems = [] %}
  {% set meta = (node.config.meta or {}).get('feature_view') %}
  {% if meta is not mapping %}
    {% do problems.append({'key': 'meta.feature_view', 'message': 'must be a mapping',
                           'fix': 'declare entity_keys, timestamp, ttl, freshness_sla, owner and online as in docs/registry.md'}) %}
    {% do return(problems) %}
  {% endif %}
  {% set spec_keys = fstore._feature_view_keys() %}
  {% set known = spec_keys.required + spec_keys.optional %}
  {% set examples = fstore._feature_view_examples() %}
  {% for key in meta.keys() | map('string') | sort %}
    {% if key not in known %}
      {% set close = fstore._closest_key(key, known) %}
      {% do problems.append({'key': 'meta.feature_view.' ~ key, 'message': 'unknown key',
                             'fix': ('did you mean `' ~ close ~ '`? ' if close else '') ~ 'remove or rename it; known keys: ' ~ (known | join(', '))}) %}
    {% endif %}
  {% endfor %}
  {% for key in spec_keys.required %}
    {% set value = meta.get(key) %}
    {% if value is none or value == '' or (fstore._is_list(value) and value | length == 0) %}
      {% do problems.append({'key': 'meta.feature_view.' ~ key, 'message': 'required key is missing',
                             'fix': 'add `' ~ examples[key] ~ '`'}) %}
    {% endif %}
  {% endfor %}
  {#- Key and timestamp columns must be contract columns; without an enforced contract the declared columns are
      documentation only and are not checked here (fsync check reports the unenforced contract). -#}
  {% set enforced = ((node.config.contract or {}).get('enforced')) is sameas true %}
  {% set columns = (node.columns or {}).values() | map(attribute='name') | list if enforced else [] %}
  {% set keys = meta.get('entity_keys') %}
  {% if keys is not none and not (fstore._is_list(keys) and keys | length == 0) %}
    {% if not fstore._is_list(keys) or (keys | reject('string') | list | length > 0) or ('' in keys) %}
      {% do problems.append({'key': 'meta.feature_view.entity_keys', 'message': 'is ' ~ (keys | tojson) ~ ', not a list of column names',
                             'fix': 'write e.g. `entity_keys: [user_id]`'}) %}
    {% else %}
      {% for k in fstore._unique_list(keys) %}
        {% if columns | length > 0 and k not in columns %}
          {% do problems.append({'key': 'meta.feature_view.entity_keys', 'message': 'names ' ~ (k | tojson) ~ ', which is not a contract column',
                                 'fix': 'use one of ' ~ (columns | join(', ')) ~ ' or add the column to the model\'s `columns`'}) %}
        {% endif %}
      {% endfor %}
    {% endif %}
  {% endif %}
  {% for key in ['timestamp', 'created_timestamp'] %}
    {% set value = meta.get(key) %}
    {% if value is not none and value != '' %}
      {% if value is not string %}
        {% do problems.append({'key': 'meta.feature_view.' ~ key, 'message': 'is ' ~ (value | tojson) ~ ', not a column name',
                               'fix': 'write e.g. `' ~ key ~ ': feature_ts`'}) %}
      {% elif columns | length > 0 and value not in columns %}
        {% do problems.append({'key': 'meta.feature_view.' ~ key, 'message': 'names ' ~ (value | tojson) ~ ', which is not a contract column',
                               'fix': 'use one of ' ~ (columns | join(', '))}) %}
      {% endif %}
    {% endif %}
  {% endfor %}
  {% for key in ['ttl', 'freshness_sla'] %}
    {% set value = meta.get(key) %}
    {% if value is not none and value != '' and fstore._duration_seconds(value) is none %}
      {% do problems.append({'key': 'meta.feature_view.' ~ key, 'message': 'is ' ~ (value | tojson) ~ ', not a duration',
                             'fix': 'write a positive <integer><unit> without leading zeros, unit d, h, m or s, e.g. `' ~ examples[key] ~ '`'}) %}
    {% endif %}
  {% endfor %}
  {% set owner = meta.get('owner') %}
  {% if owner is not none and owner != '' and owner is not string %}
    {% do problems.append({'key': 'meta.feature_view.owner', 'message': 'is ' ~ (owner | tojson) ~ ', not a text',
                           'fix': 'write e.g. `owner: team@example.com`'}) %}
  {% endif %}
  {% set online = meta.get('online') %}
  {% if online is not none and online is not boolean %}
    {% do problems.append({'key': 'meta.feature_view.online', 'message': 'is ' ~ (online | tojson) ~ ', not true/false',
                           'fix': 'write `online: true` or `online: false`'}) %}
  {% endif %}
  {% set tags = meta.get('tags') %}
  {% if tags is not none and not (fstore._is_list(tags) and tags | reject('string') | list | length == 0) %}
    {% do problems.append({'key': 'meta.feature_view.tags', 'message': 'is ' ~ (tags | tojson) ~ ', not a list of texts',
                           'fix': 'write e.g. `tags: [purchases]`'}) %}
  {% endif %}
  {% do return(problems) %}
{% endmacro %}

{#- One line per problem, the same text fsync prints: `<model>: <key>: <message>; fix: <fix> (in <yaml file>)`. -#}
{% macro _feature_view_problem_lines(node, problems) %}
  {% set where = (' (in ' ~ node.patch_path.split('://')[-1] ~ ')') if node.patch_path else '' %}
  {% set lines = [] %}
  {% for p in problems %}
    {% do lines.append(fstore._model_label(node) ~ ': ' ~ p.key ~ ': ' ~ p.message ~ '; fix: ' ~ p.fix ~ where) %}
  {% endfor %}
  {% do return(lines) %}
{% endmacro %}

{#- The validated spec of a model version {entity_keys, timestamp, created_timestamp, ttl, ...}, or a compile error
    listing every problem. -#}
{% macro _feature_view_spec(node, macro_name) %}
  {% set problems = fstore._feature_view_problems(node) %}
  {% if problems | length > 0 %}
    {{ fstore._fail(macro_name, "invalid meta.feature_view:\n  " ~ (fstore._feature_view_problem_lines(node, problems) | join('\n  '))) }}
  {% endif %}
  {% set meta = node.config.meta.feature_view %}
  {% do return({'entity_keys': fstore._unique_list(meta.entity_keys), 'timestamp': meta.timestamp,
                'created_timestamp': meta.get('created_timestamp') or none, 'ttl': meta.ttl,
                'freshness_sla': meta.freshness_sla, 'owner': meta.owner, 'online': meta.online,
                'tags': fstore._unique_list(meta.get('tags') or [])}) %}
{% endmacro %}

{#- The graph node of model `name` at `version` (none: its latest version), or a compile error. -#}
{% macro _model_node(name, version, macro_name) %}
  {% set ns = namespace(node=none) %}
  {% for node in graph.nodes.values() if node.resource_type == 'model' and node.name == name %}
    {% set wanted = version if version is not none else node.latest_version %}
    {% if wanted is none or (node.version | string) == (wanted | string) %}{% set ns.node = node %}{% endif %}
  {% endfor %}
  {% if ns.node is none %}
    {{ fstore._fail(macro_name, "no model '" ~ name ~ "'" ~ (" version " ~ version if version is not none else "") ~ " in this project; check the name and version.") }}
  {% endif %}
  {% do return(ns.node) %}
{% endmacro %}

{#- The timestamp column and SLA (seconds) the freshness test checks: the arguments, else the model's
    meta.feature_view (the model found by its relation). -#}
{% macro _freshness_spec(model, timestamp, freshness_sla, macro_name) %}
  {% set ns = namespace(meta=none) %}
  {% if execute and (timestamp is none or freshness_sla is none) %}
    {% for node in graph.nodes.values() if node.resource_type == 'model'
         and (node.alias or node.name) | lower == (model.identifier or '') | lower
         and (node.schema or '') | lower == (model.schema or '') | lower %}
      {% set ns.meta = (node.config.meta or {}).get('feature_view') %}
    {% endfor %}
    {% if ns.meta is none %}
      {{ fstore._fail(macro_name, "model " ~ model ~ " has no meta.feature_view; pass `timestamp` and `freshness_sla` to the test, e.g. arguments: {timestamp: feature_ts, freshness_sla: 26h}.") }}
    {% endif %}
  {% endif %}
  {% set meta = ns.meta or {} %}
  {% set column = timestamp if timestamp is not none else meta.get('timestamp', 'feature_ts') %}
  {% set sla = freshness_sla if freshness_sla is not none else meta.get('freshness_sla') %}
  {% set seconds = fstore._parse_duration(sla, 'freshness_sla', macro_name).seconds if execute else 1 %}
  {% do return({'timestamp': column, 'sla_seconds': seconds}) %}
{% endmacro %}
