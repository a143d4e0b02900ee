with

source as (

    select * from {{ source('sms_voice', 'events') }}

)

select
    {{ partition_hour('year', 'month', 'day', 'hour') }} as ingest_hour,
    source_key,
    line_no,
    -- Inbound SMS (two-way messaging) has no eventType: it is a reply from the customer.
    coalesce({{ json_str('body', '$.eventType') }}, 'TEXT_INBOUND') as event_type,
    coalesce({{ json_str('body', '$.messageId') }}, {{ json_str('body', '$.inboundMessageId') }}) as message_id,
    {{ json_str('body', '$.context.accountId') }} as account_id,
    {{ json_str('body', '$.context.organizationId') }} as organization_id,
    -- Inbound replies in two-way messaging's own format name them originationNumber/destinationNumber.
    coalesce(
        {{ json_str('body', '$.originationPhoneNumber') }}, {{ json_str('body', '$.originationNumber') }}
    ) as origination_phone_number,
    coalesce(
        {{ json_str('body', '$.destinationPhoneNumber') }}, {{ json_str('body', '$.destinationNumber') }}
    ) as destination_phone_number,
    -- Never invented: only a two-way reply (it carries inboundMessageId) is INBOUND without one.
    case
        when {{ json_str('body', '$.inboundMessageId') }} is not null
            then coalesce({{ json_str('body', '$.messageType') }}, 'INBOUND')
        else {{ json_str('body', '$.messageType') }}
    end as message_type,
    {{ json_str('body', '$.messageStatus') }} as message_status,
    {{ json_str('body', '$.messageStatusDescription') }} as message_status_description,
    {{ json_str('body', '$.messageBody') }} as message_body,
    {{ json_str('body', '$.messageKeyword') }} as message_keyword,
    -- try_cast: landing refuses values these casts cannot read; only a key given twice (engines read
    -- its first value, landing its last) could reach them, and it must give a null, not a failed build.
    coalesce(
        try_cast({{ json_str('body', '$.eventTimestamp') }} as bigint),
        -- inbound SMS carries no time of its own: the SNS notification's is the event's
        {{ iso_to_epoch_ms(json_str('raw_event', '$.Timestamp')) }}
    ) as event_timestamp_ms,
    {{ json_str('body', '$.isoCountryCode') }} as iso_country_code,
    {{ json_str('body', '$.mcc') }} as mcc,
    {{ json_str('body', '$.mnc') }} as mnc,
    try_cast({{ json_str('body', '$.totalMessageParts') }} as integer) as total_message_parts,
    try_cast({{ json_str('body', '$.totalMessagePrice') }} as double) as total_message_price,
    try_cast({{ json_str('body', '$.totalCarrierFee') }} as double) as total_carrier_fee,
    try_cast({{ json_str('body', '$.callDurationInSeconds') }} as integer) as call_duration_seconds,
    try_cast({{ json_str('body', '$.totalDurationInMinutes') }} as double) as total_duration_minutes,
    {{ json_str_map('body', '$.context') }} as context,
    -- landing writes raw_event only where it differs from body
    coalesce(raw_event, body) as raw_event
from source
