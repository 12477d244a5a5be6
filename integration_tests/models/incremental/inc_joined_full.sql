{#- The same view, rebuilt from scratch on every run: what inc_joined must equal. -#}
{{ config(materialized='table') }}
{{ inc_feature_view('joined') }}
