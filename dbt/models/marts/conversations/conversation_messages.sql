{{ config(**hourly_incremental_config()) }}

-- The AWS samples' conversation model: one row per chatbot message, re-deliveries collapsed.
with

deduplicated as (

    select
        *,
        row_number() over (
            partition by conversation_message_id order by ingest_hour, source_key, line_no
        ) as delivery_rank
    from {{ ref('int_conversation_messages_identified') }}

),

delivered_earlier as (

    {#- The interval check comes first: is_incremental() looks the table up in the catalog. #}
    {% if var('c360__interval_start') and is_incremental() -%}
        {{ delivered_before_interval(this, 'conversation_message_id') }}
    {%- else -%}
        select conversation_message_id
        from deduplicated
        where 1 = 0
    {%- endif %}

)

select
    conversation_message_id,
    account_id,
    organization_id,
    message_id,
    sending_address,
    destination_address,
    channel,
    direction,
    knowledge_base_id,
    session_id,
    message_source as source,
    timestamp_ms as "timestamp",
    tags,
    message,
    raw_event,
    'conversations' as stream,
    ingest_hour
from deduplicated
where
    delivery_rank = 1
    and conversation_message_id not in (
        select delivered_earlier.conversation_message_id from delivered_earlier
    )
