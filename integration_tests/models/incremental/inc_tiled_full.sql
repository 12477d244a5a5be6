{#- The same view, rebuilt from scratch on every run: what inc_tiled must equal. -#}
{{ config(materialized='table') }}
{{ inc_feature_view('tiled') }}
