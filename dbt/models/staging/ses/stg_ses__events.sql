with

source as (

    select * from {{ source('ses', 'events') }}

),

typed as (

    select
        {{ partition_hour('year', 'month', 'day', 'hour') }} as ingest_hour,
        source_key,
        line_no,
        coalesce(
            {{ json_str('body', '$.eventType') }},
            {{ json_str('body', '$.notificationType') }}
        ) as event_type,
        {{ json_str('body', '$.mail.sendingAccountId') }} as account_id,
        {{ json_str('body', '$.mail.tags.organizationId[0]') }} as organization_id,
        {{ json_str('body', '$.mail.sourceArn') }} as source_arn,
        {{ json_str('body', '$.mail.source') }} as source_address,
        {{ json_str_array('body', '$.mail.destination') }} as destination_addresses,
        {{ json_str('body', '$.mail.messageId') }} as message_id,
        {{ json_str('body', '$.mail.timestamp') }} as mail_timestamp,
        {{ json_str('body', '$.mail.commonHeaders.subject') }} as subject,
        {{ json_first_value_map('body', '$.mail.tags') }} as tags,
        {{ json_text('body', '$.send') }} as send,
        {{ json_text('body', '$.bounce') }} as bounce,
        {{ json_text('body', '$.complaint') }} as complaint,
        {{ json_text('body', '$.delivery') }} as delivery,
        {{ json_text('body', '$.open') }} as open,
        {{ json_text('body', '$.click') }} as click,
        {{ json_text('body', '$.reject') }} as reject,
        {{ json_text('body', '$.failure') }} as failure,
        {{ json_text('body', '$.deliveryDelay') }} as delivery_delay,
        {{ json_text('body', '$.subscription') }} as subscription,
        -- landing writes raw_event only where it differs from body
        coalesce(raw_event, body) as raw_event

    from source

),

event_object as (

    select
        *,
        -- The event type's own object carries its details (docs/canonical-events.md, SES table).
        case event_type
            when 'Send' then send
            when 'Bounce' then bounce
            when 'Complaint' then complaint
            when 'Delivery' then delivery
            when 'Open' then open
            when 'Click' then click
            when 'Reject' then reject
            when 'Rendering Failure' then failure
            when 'DeliveryDelay' then delivery_delay
            when 'Subscription' then subscription
        end as raw_status

    from typed

)

select
    ingest_hour,
    source_key,
    line_no,
    event_type,
    account_id,
    organization_id,
    source_arn,
    source_address,
    destination_addresses,
    message_id,
    subject,
    tags,
    raw_status,
    case event_type
        when 'Bounce' then {{ json_str('raw_status', '$.bounceType') }}
        when 'Complaint' then {{ json_str('raw_status', '$.complaintFeedbackType') }}
        when 'Delivery' then {{ json_str('raw_status', '$.smtpResponse') }}
        when 'Reject' then {{ json_str('raw_status', '$.reason') }}
        when 'Open' then {{ json_str('raw_status', '$.ipAddress') }}
        when 'Click' then {{ json_str('raw_status', '$.ipAddress') }}
        when 'Rendering Failure' then {{ json_str('raw_status', '$.templateName') }}
        when 'DeliveryDelay' then {{ json_str('raw_status', '$.delayType') }}
        when 'Subscription' then {{ json_str('raw_status', '$.contactList') }}
    end as status_code,
    case event_type
        when 'Bounce' then {{ json_str('raw_status', '$.bounceSubType') }}
        when 'Delivery' then {{ json_str('raw_status', '$.reportingMTA') }}
        when 'Click' then {{ json_str('raw_status', '$.link') }}
        when 'Rendering Failure' then {{ json_str('raw_status', '$.errorMessage') }}
        when 'Subscription' then {{ json_str('raw_status', '$.source') }}
    end as status_message,
    -- The event's own time; Send, Reject and Rendering Failure only have the mail's.
    {{ iso_to_epoch_ms("coalesce(" ~ json_str('raw_status', '$.timestamp') ~ ", mail_timestamp)") }}
        as event_timestamp_ms,
    raw_event

from event_object
