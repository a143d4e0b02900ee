-- Conversation messages with a deterministic id, re-deliveries still present
-- (conversation_messages drops them; landing_reconciliation counts both).
select
    *,
    {{ dbt.hash(dbt.concat([
        "coalesce(message_id, '')", "'|'", "coalesce(direction, '')", "'|'", 'cast(timestamp_ms as varchar)'
    ])) }} as conversation_message_id
from {{ ref('stg_conversations__messages') }}
where {{ in_run_interval('ingest_hour') }}
