with

source as (

    select * from {{ source('whatsapp', 'events') }}

)

select
    {{ partition_hour('year', 'month', 'day', 'hour') }} as ingest_hour,
    source_key,
    line_no,
    {{ json_str('body', '$.aws_account_id') }} as account_id,
    {{ json_str('body', '$.context.MetaWabaIds[0].wabaId') }} as waba_id,
    {{ json_str('body', '$.context.MetaPhoneNumberIds[0].metaPhoneNumberId') }} as meta_phone_number_id,
    {{ json_str('body', '$.messageId') }} as record_message_id,
    {{ iso_to_epoch_ms(json_str('body', '$.message_timestamp')) }} as message_timestamp_ms,
    -- The webhook entry arrives as a JSON string inside the record.
    {{ json_str('body', '$.whatsAppWebhookEntry') }} as webhook_entry,
    -- landing writes raw_event only where it differs from body
    coalesce(raw_event, body) as raw_event
from source
