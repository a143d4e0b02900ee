{{ config(materialized='view') }}

{{ event_type_view(['voice'], ['failed']) }}
