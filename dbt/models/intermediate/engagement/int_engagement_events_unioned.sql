-- Every channel's events in the canonical shape, each with its deterministic event_id.
-- Re-deliveries are still here (engagement_events drops them): counting both is how
-- landing_reconciliation proves nothing was lost.
with

unioned as (

    select * from {{ ref('int_email_events_mapped') }}
    union all
    select * from {{ ref('int_sms_voice_events_mapped') }}
    union all
    select * from {{ ref('int_whatsapp_events_unnested') }}

)

select
    stream,
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
    timestamp_ms,
    message_id,
    tags,
    channel_data,
    iso_country_code,
    raw_event,
    source_key,
    line_no,
    ingest_hour,
    -- Identical re-deliveries (at-least-once delivery) hash to the same id.
    {{ dbt.hash(dbt.concat([
        'stream', "'|'", "coalesce(message_id, '')", "'|'", "coalesce(type, '')", "'|'",
        "coalesce(status, '')", "'|'", 'cast(timestamp_ms as varchar)', "'|'",
        "coalesce(" ~ array_join_str('destination_address', ',') ~ ", '')"
    ])) }} as event_id
from unioned
