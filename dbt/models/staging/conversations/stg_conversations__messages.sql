with

source as (

    select * from {{ source('conversations', 'messages') }}

)

select
    {{ partition_hour('year', 'month', 'day', 'hour') }} as ingest_hour,
    source_key,
    line_no,
    {{ json_str('body', '$.accountId') }} as account_id,
    {{ json_str('body', '$.organizationId') }} as organization_id,
    {{ json_str('body', '$.messageId') }} as message_id,
    {{ json_str('body', '$.sendingAddress') }} as sending_address,
    {{ json_str('body', '$.destinationAddress') }} as destination_address,
    {{ json_str('body', '$.channel') }} as channel,
    {{ json_str('body', '$.direction') }} as direction,
    {{ json_str('body', '$.knowledgeBaseId') }} as knowledge_base_id,
    {{ json_str('body', '$.sessionId') }} as session_id,
    {{ json_str('body', '$.source') }} as message_source,
    cast({{ json_str('body', '$.timestamp') }} as bigint) as timestamp_ms,
    {{ json_str_map('body', '$.tags') }} as tags,
    {{ json_str('body', '$.message') }} as message,
    -- landing writes raw_event only where it differs from body
    coalesce(raw_event, body) as raw_event
from source
