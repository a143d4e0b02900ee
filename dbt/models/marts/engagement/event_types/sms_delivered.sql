{{ config(materialized='view') }}

{{ event_type_view(['text'], ['delivered']) }}
