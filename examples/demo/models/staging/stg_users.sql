{#- The entity list of the demo feature views: every user seen in purchases or sessions. -#}
select user_id from {{ ref('stg_purchase_versions') }} where user_id is not null
union
select user_id from {{ ref('stg_session_versions') }} where user_id is not null
