{{ config(**hourly_incremental_config()) }}

with

deduplicated as (

    select
        *,
        row_number() over (partition by event_id order by source_key, line_no) as delivery_rank
    from {{ ref('int_engagement_events_unioned') }}

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
    iso_country_code,
    raw_event,
    stream,
    ingest_hour
from deduplicated
where delivery_rank = 1
