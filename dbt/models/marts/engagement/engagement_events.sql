{{ config(**hourly_incremental_config()) }}

with

mapped as (

    select * from {{ ref('int_email_events_mapped') }}

),

identified as (

    select
        *,
        -- Identical re-deliveries (at-least-once delivery) hash to the same id.
        {{ dbt.hash(dbt.concat([
            'stream', "'|'", "coalesce(message_id, '')", "'|'", 'type', "'|'",
            "coalesce(status, '')", "'|'", 'cast(timestamp_ms as varchar)', "'|'",
            "coalesce(" ~ array_join_str('destination_address', ',') ~ ", '')"
        ])) }} as event_id

    from mapped

),

deduplicated as (

    select
        *,
        row_number() over (partition by event_id order by source_key, line_no) as delivery_rank

    from identified

)

select
    event_id,
    account_id,
    organization_id,
    sending_id,
    sending_address,
    destination_address,
    channel,
    type,
    status,
    status_code,
    status_message,
    raw_status,
    timestamp_ms as "timestamp",
    message_id,
    tags,
    channel_data,
    raw_event,
    stream,
    ingest_hour
from deduplicated
where delivery_rank = 1
