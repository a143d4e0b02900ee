-- SMS, MMS and voice events (and inbound SMS) in the canonical event shape
-- (docs/canonical-events.md, SMS / MMS / voice column).
{%- set default_account_id = var("c360__default_account_id") %}
select
    'sms_voice' as stream,
    coalesce(account_id, nullif('{{ default_account_id }}', '')) as account_id,
    organization_id,
    origination_phone_number as sending_id,
    origination_phone_number as sending_address,
    -- No destinationPhoneNumber (the events EventBridge delivers): an empty array, not [null].
    filter(array[destination_phone_number], destination -> destination is not null) as destination_address,
    lower(split_part(event_type, '_', 1)) as channel,
    message_type as type,
    event_type as status,
    message_status as status_code,
    message_status_description as status_message,
    cast(null as varchar) as raw_status,
    event_timestamp_ms as timestamp_ms,
    message_id,
    context as tags,
    {{ map_without_nulls([
        ('isoCountryCode', 'iso_country_code'),
        ('totalMessageParts', 'total_message_parts'),
        ('totalMessagePrice', 'total_message_price'),
        ('totalCarrierFee', 'total_carrier_fee'),
        ('mcc', 'mcc'),
        ('mnc', 'mnc'),
        ('callDurationInSeconds', 'call_duration_seconds'),
        ('totalDurationInMinutes', 'total_duration_minutes'),
        ('messageKeyword', 'message_keyword'),
    ]) }} as channel_data,
    iso_country_code,
    raw_event,
    source_key,
    line_no,
    ingest_hour
from {{ ref('stg_sms_voice__events') }}
where {{ in_run_interval('ingest_hour') }}
