{{ config(materialized='view') }}

{{ event_type_view(['email'], ['sent']) }}
