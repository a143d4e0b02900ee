-- WhatsApp webhook entries fanned out: every changes[].value.messages[] and every
-- changes[].value.statuses[] becomes its own canonical event (docs/canonical-events.md).
with

entries as (

    select * from {{ ref('stg_whatsapp__events') }}
    where {{ in_run_interval('ingest_hour') }}

),

changes as (

    select
        entries.*,
        entry_changes.change_value
    from entries
    cross join unnest({{ json_array('entries.webhook_entry', '$.changes') }}) as entry_changes (change_value)

),

messages as (

    select
        changes.*,
        change_messages.item,
        'message' as type,
        {{ json_str('change_messages.item', '$.type') }} as status,
        '+' || {{ json_str('change_messages.item', '$.from') }} as customer_address
    from changes
    cross join unnest({{ json_array('changes.change_value', '$.value.messages') }}) as change_messages (item)

),

statuses as (

    select
        changes.*,
        change_statuses.item,
        'messageStatus' as type,
        {{ json_str('change_statuses.item', '$.status') }} as status,
        '+' || {{ json_str('change_statuses.item', '$.recipient_id') }} as customer_address
    from changes
    cross join unnest({{ json_array('changes.change_value', '$.value.statuses') }}) as change_statuses (item)

),

items as (

    select * from messages
    union all
    select * from statuses

)

select
    'whatsapp' as stream,
    account_id,
    waba_id as organization_id,
    meta_phone_number_id as sending_id,
    {{ json_str('change_value', '$.value.metadata.display_phone_number') }} as sending_address,
    array[customer_address] as destination_address,
    'whatsapp' as channel,
    type,
    status,
    {{ json_str('item', '$.errors[0].code') }} as status_code,
    {{ json_str('item', '$.errors[0].message') }} as status_message,
    {{ json_text('item', '$') }} as raw_status,
    coalesce(
        cast(cast({{ json_str('item', '$.timestamp') }} as double) * 1000 as bigint), message_timestamp_ms
    ) as timestamp_ms,
    {{ json_str('item', '$.id') }} as message_id,
    cast(null as {{ string_map_type() }}) as tags,
    {{ map_without_nulls([
        ('conversationId', json_str('item', '$.conversation.id')),
        ('conversationExpiration', json_str('item', '$.conversation.expiration_timestamp')),
        ('conversationType', json_str('item', '$.conversation.origin.type')),
        ('biz_opaque_callback_data', json_str('item', '$.biz_opaque_callback_data')),
    ]) }} as channel_data,
    cast(null as varchar) as iso_country_code,
    raw_event,
    source_key,
    line_no,
    ingest_hour
from items
