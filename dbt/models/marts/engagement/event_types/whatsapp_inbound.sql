{{ config(materialized='view') }}

{{ event_type_view(['whatsapp'], ['inbound']) }}
