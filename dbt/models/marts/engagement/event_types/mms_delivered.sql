{{ config(materialized='view') }}

{{ event_type_view(['media'], ['delivered']) }}
